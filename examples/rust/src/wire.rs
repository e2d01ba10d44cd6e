//! cnnref's frames (docs/protocol.md): `CNNR`, a little-endian u32 header length, a JSON
//! header, then the raw C-order bytes of each array the header's `buffers` lists.
//! A small JSON reader and writer, just enough for the headers.

use crate::half;
use crate::kernels::{Dtype, Tensor};
use std::io::{self, Read, Write};

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        if let Json::Str(s) = self {
            Some(s)
        } else {
            None
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        if let Json::Number(n) = self {
            Some(*n)
        } else {
            None
        }
    }

    /// The items of `{"tuple": [...]}` or `{"list": [...]}`: how cnnref writes a sequence.
    pub fn items(&self) -> Option<&[Json]> {
        match self.get("tuple").or_else(|| self.get("list")) {
            Some(Json::Array(items)) => Some(items),
            _ => None,
        }
    }

    /// `{"key": value, ...}` from pairs.
    pub fn object<const N: usize>(members: [(&str, Json); N]) -> Json {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn parse(text: &str) -> Result<Json, String> {
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let value = parser.value(0)?;
        parser.space();
        if parser.at != parser.text.len() {
            return Err("trailing bytes after the JSON header".into());
        }
        Ok(value)
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Json::Null => write!(f, "null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) if n.is_nan() => write!(f, "NaN"),
            Json::Number(n) if n.is_infinite() => {
                write!(f, "{}Infinity", if *n < 0.0 { "-" } else { "" })
            }
            Json::Number(n) => write!(f, "{n}"), // 3.0 prints as 3: ids and sizes stay integers
            Json::Str(s) => {
                write!(f, "\"")?;
                for c in s.chars() {
                    match c {
                        '"' => write!(f, "\\\"")?,
                        '\\' => write!(f, "\\\\")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => write!(f, "{c}")?,
                    }
                }
                write!(f, "\"")
            }
            Json::Array(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    write!(f, "{}{item}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "]")
            }
            Json::Object(members) => {
                write!(f, "{{")?;
                for (i, (key, value)) in members.iter().enumerate() {
                    write!(
                        f,
                        "{}{}: {value}",
                        if i > 0 { ", " } else { "" },
                        Json::Str(key.clone())
                    )?;
                }
                write!(f, "}}")
            }
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.at < self.text.len() && b" \t\r\n".contains(&self.text[self.at]) {
            self.at += 1;
        }
    }

    fn take(&mut self, word: &str) -> bool {
        let found = self.text[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        self.space();
        if depth > 64 {
            return Err("JSON nested too deep".into());
        }
        let next = *self
            .text
            .get(self.at)
            .ok_or("the JSON header ends too soon")?;
        match next {
            b'{' | b'[' => self.items(next, depth),
            b'"' => Ok(Json::Str(self.string()?)),
            _ if self.take("null") => Ok(Json::Null),
            _ if self.take("true") => Ok(Json::Bool(true)),
            _ if self.take("false") => Ok(Json::Bool(false)),
            // Python's json writes NaN, Infinity and -Infinity as well.
            _ if self.take("NaN") => Ok(Json::Number(f64::NAN)),
            _ if self.take("Infinity") => Ok(Json::Number(f64::INFINITY)),
            _ if self.take("-Infinity") => Ok(Json::Number(f64::NEG_INFINITY)),
            _ => {
                let start = self.at;
                while self.at < self.text.len() && b"+-0123456789.eE".contains(&self.text[self.at])
                {
                    self.at += 1;
                }
                let number = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
                number
                    .parse()
                    .map(Json::Number)
                    .map_err(|_| format!("not JSON at byte {start}"))
            }
        }
    }

    fn items(&mut self, open: u8, depth: usize) -> Result<Json, String> {
        let close = if open == b'{' { b'}' } else { b']' };
        self.at += 1;
        let (mut array, mut members) = (Vec::new(), Vec::new());
        self.space();
        if self.text.get(self.at) == Some(&close) {
            self.at += 1;
        } else {
            loop {
                self.space();
                if open == b'{' {
                    let key = self.string()?;
                    self.space();
                    if !self.take(":") {
                        return Err("expected ':' in a JSON object".into());
                    }
                    members.push((key, self.value(depth + 1)?));
                } else {
                    array.push(self.value(depth + 1)?);
                }
                self.space();
                if self.take(",") {
                    continue;
                }
                if self.text.get(self.at) == Some(&close) {
                    self.at += 1;
                    break;
                }
                return Err(format!(
                    "expected ',' or '{}' at byte {}",
                    close as char, self.at
                ));
            }
        }
        Ok(if open == b'{' {
            Json::Object(members)
        } else {
            Json::Array(array)
        })
    }

    fn string(&mut self) -> Result<String, String> {
        if !self.take("\"") {
            return Err(format!("expected a string at byte {}", self.at));
        }
        let mut out = String::new();
        loop {
            let rest = std::str::from_utf8(&self.text[self.at..]).map_err(|e| e.to_string())?;
            let mut chars = rest.char_indices();
            let (_, c) = chars.next().ok_or("a JSON string does not end")?;
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = *self.text.get(self.at).ok_or("a JSON string does not end")?;
                    self.at += 1;
                    out.push(match escaped {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = std::str::from_utf8(
                                self.text.get(self.at..self.at + 4).unwrap_or(b""),
                            )
                            .unwrap_or("");
                            self.at += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).unwrap_or(0xFFFD))
                                .unwrap_or('\u{FFFD}')
                        }
                        other => other as char,
                    });
                }
                c => out.push(c),
            }
        }
    }
}

/// A frame read from the verifier: its header, and its arrays (None: a dtype that is not a
/// float, which the call using it refuses).
pub struct Frame {
    pub header: Json,
    pub arrays: Vec<Option<Tensor>>,
}

fn item_size(dtype: &str) -> Option<usize> {
    let size = match dtype {
        "|b1" | "|i1" | "|u1" => 1,
        "<i2" | "<u2" | "<f2" | "bfloat16" => 2,
        "<i4" | "<u4" | "<f4" => 4,
        "<i8" | "<u8" | "<f8" | "<c8" => 8,
        "<c16" => 16,
        _ => return None,
    };
    Some(size)
}

/// The float formats this client takes, with their dtype strings (docs/protocol.md).
const DTYPES: [(Dtype, &str); 4] = [
    (Dtype::Float64, "<f8"),
    (Dtype::Float32, "<f4"),
    (Dtype::Float16, "<f2"),
    (Dtype::BFloat16, "bfloat16"),
];

fn dtype_name(dtype: Dtype) -> &'static str {
    DTYPES
        .iter()
        .find(|(d, _)| *d == dtype)
        .map(|(_, name)| *name)
        .unwrap()
}

/// One element's little-endian bytes, as f64.
fn value_of(bytes: &[u8], dtype: Dtype) -> f64 {
    match dtype {
        Dtype::Float64 => f64::from_le_bytes(bytes.try_into().unwrap()),
        Dtype::Float32 => f64::from(f32::from_le_bytes(bytes.try_into().unwrap())),
        half => half::from_bits(u16::from_le_bytes(bytes.try_into().unwrap()), half),
    }
}

/// One element rounded once to `dtype`, as little-endian bytes.
fn push_value(bytes: &mut Vec<u8>, value: f64, dtype: Dtype) {
    match dtype {
        Dtype::Float64 => bytes.extend_from_slice(&value.to_le_bytes()),
        Dtype::Float32 => bytes.extend_from_slice(&(value as f32).to_le_bytes()),
        half => bytes.extend_from_slice(&half::to_bits(value, half).to_le_bytes()),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The next frame, or None when the verifier closed the pipe.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut prefix = [0u8; 8];
    match input.read_exact(&mut prefix) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    if &prefix[..4] != b"CNNR" {
        return Err(invalid("a frame must start with CNNR".into()));
    }
    let mut text = vec![0u8; u32::from_le_bytes(prefix[4..].try_into().unwrap()) as usize];
    input.read_exact(&mut text)?;
    let header = Json::parse(&String::from_utf8_lossy(&text)).map_err(invalid)?;
    let mut arrays = Vec::new();
    let no_buffers = Vec::new();
    let buffers = match header.get("buffers") {
        Some(Json::Array(buffers)) => buffers,
        _ => &no_buffers,
    };
    for spec in buffers {
        // Arrays to us also carry strides, offset and block: the layout the verifier's array
        // had.  The bytes themselves are always in C order, so this client ignores them.
        let dtype = spec.get("dtype").and_then(Json::as_str).unwrap_or("");
        let shape: Vec<usize> = match spec.get("shape") {
            Some(Json::Array(sizes)) => sizes
                .iter()
                .map(|n| n.as_number().unwrap_or(0.0) as usize)
                .collect(),
            _ => return Err(invalid("an array without a shape".into())),
        };
        let size = item_size(dtype).ok_or_else(|| invalid(format!("unknown dtype {dtype}")))?;
        let mut raw = vec![0u8; shape.iter().product::<usize>() * size];
        input.read_exact(&mut raw)?;
        let float = DTYPES
            .iter()
            .find(|(_, name)| *name == dtype)
            .map(|(d, _)| *d);
        arrays.push(float.map(|dtype| Tensor {
            shape,
            data: raw.chunks_exact(size).map(|b| value_of(b, dtype)).collect(),
            dtype,
        }));
    }
    Ok(Some(Frame { header, arrays }))
}

/// Write one frame: `header` (its "buffers" added here) and the bytes of `arrays`.
pub fn write_frame(output: &mut impl Write, header: Json, arrays: &[&Tensor]) -> io::Result<()> {
    let mut members = match header {
        Json::Object(members) => members,
        _ => panic!("a frame header is a JSON object"),
    };
    let buffers = arrays.iter().map(|a| {
        let dtype = dtype_name(a.dtype);
        let shape = a.shape.iter().map(|&n| Json::Number(n as f64)).collect();
        Json::object([
            ("dtype", Json::Str(dtype.into())),
            ("shape", Json::Array(shape)),
        ])
    });
    members.push(("buffers".into(), Json::Array(buffers.collect())));
    let text = Json::Object(members).to_string();
    output.write_all(b"CNNR")?;
    output.write_all(&(text.len() as u32).to_le_bytes())?;
    output.write_all(text.as_bytes())?;
    for array in arrays {
        let mut bytes = Vec::with_capacity(array.data.len() * 8);
        for &value in &array.data {
            push_value(&mut bytes, value, array.dtype);
        }
        output.write_all(&bytes)?;
    }
    output.flush()
}
