//! conv2d, max_pool2d and their gradients with PyTorch CPU semantics, served to
//! `cnnref verify --command ./target/release/conv_server` over cnnref's protocol
//! (docs/protocol.md, "Writing a client in another language").
//!
//!     cargo build --release --offline
//!
//! `kernels.rs` holds the four functions (replace them with yours), `wire.rs` the frames and
//! the JSON they carry; this file answers the handshake and the requests.

mod half;
mod kernels;
mod wire;

use kernels::{ConvGeometry, Pair, PoolGeometry, Tensor};
use std::io::{self, BufReader, BufWriter, Write};
use wire::{read_frame, write_frame, Frame, Json};

const FUNCTIONS: [&str; 4] = [
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
];

fn main() -> io::Result<()> {
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    // The handshake: the functions this program implements, and the features it does not
    // support (never drawn): none, the 16-bit formats included (half.rs).
    let functions = FUNCTIONS.iter().map(|f| Json::Str(f.to_string())).collect();
    let ready = Json::object([
        ("op", Json::Str("ready".into())),
        ("functions", Json::Array(functions)),
        ("unsupported", Json::Array(Vec::new())),
        ("values", Json::object([])),
    ]);
    write_frame(&mut output, ready, &[])?;
    // One request after another until the pipe closes, "exit", or an op this client does not know.
    while let Some(request) = read_frame(&mut input)? {
        if request.header.get("op").and_then(Json::as_str) != Some("calls") {
            break;
        }
        serve_calls(&request, &mut output)?;
    }
    Ok(())
}

/// A request carries k calls of one function; each gets its own reply, in order, and the
/// first call that raises ends the batch.
fn serve_calls(request: &Frame, output: &mut impl Write) -> io::Result<()> {
    let header = &request.header;
    let function = header.get("function").and_then(Json::as_str).unwrap_or("");
    let first_id = header.get("id").and_then(Json::as_number).unwrap_or(0.0);
    let echo = header.get("echo") == Some(&Json::Bool(true));
    let values = header.get("values");
    let args = values
        .and_then(|v| v.get("args"))
        .and_then(Json::items)
        .unwrap_or(&[]);
    let kwargs = values
        .and_then(|v| v.get("kwargs"))
        .and_then(Json::items)
        .unwrap_or(&[]);
    for (k, (call_args, call_kwargs)) in args.iter().zip(kwargs).enumerate() {
        let id = Json::Number(first_id + k as f64);
        // Positional arguments: {"tuple": [{"array": i} or null, ...]}; keywords: {"dict": {...}}.
        let arrays: Vec<Option<&Tensor>> = call_args
            .items()
            .unwrap_or(&[])
            .iter()
            .map(|a| {
                a.get("array")
                    .and_then(Json::as_number)
                    .and_then(|i| request.arrays.get(i as usize)?.as_ref())
            })
            .collect();
        let refused = call_args
            .items()
            .unwrap_or(&[])
            .iter()
            .zip(&arrays)
            .any(|(a, t)| *a != Json::Null && t.is_none());
        let result = if refused {
            Err((
                "TypeError",
                "only float64, float32, float16 and bfloat16 arrays are supported".to_string(),
            ))
        } else {
            call(
                function,
                &arrays,
                call_kwargs.get("dict").unwrap_or(&Json::Null),
            )
        };
        match result {
            Ok(outputs) => {
                let mut buffers: Vec<&Tensor> = Vec::new();
                let value = match outputs.as_slice() {
                    [single] => array(&mut buffers, single.as_ref()),
                    several => {
                        let items = several
                            .iter()
                            .map(|t| array(&mut buffers, t.as_ref()))
                            .collect();
                        Json::object([("tuple", Json::Array(items))])
                    }
                };
                // With echo, the arguments as the call left them: the verifier checks they are unchanged.
                let inputs = if echo {
                    Json::object([(
                        "list",
                        Json::Array(arrays.iter().map(|t| array(&mut buffers, *t)).collect()),
                    )])
                } else {
                    Json::Null
                };
                let reply = Json::object([
                    ("op", Json::Str("returned".into())),
                    ("id", id),
                    ("shared", Json::Array(vec![])), // our results never share memory with the inputs
                    (
                        "values",
                        Json::object([("value", value), ("inputs", inputs)]),
                    ),
                ]);
                write_frame(output, reply, &buffers)?;
            }
            Err((error_type, message)) => {
                let reply = Json::object([
                    ("op", Json::Str("raised".into())),
                    ("id", id),
                    ("error_type", Json::Str(error_type.into())),
                    ("message", Json::Str(message)),
                    ("traceback", Json::Str(String::new())),
                    ("values", Json::object([])),
                ]);
                return write_frame(output, reply, &[]);
            }
        }
    }
    Ok(())
}

/// `{"array": i}`, with the tensor queued as the frame's i-th buffer; null for None.
fn array<'a>(buffers: &mut Vec<&'a Tensor>, tensor: Option<&'a Tensor>) -> Json {
    match tensor {
        Some(tensor) => {
            buffers.push(tensor);
            Json::object([("array", Json::Number((buffers.len() - 1) as f64))])
        }
        None => Json::Null,
    }
}

type Raised = (&'static str, String);

/// One call: its results (None where the function returns None), or the error it raises.
fn call(
    function: &str,
    arrays: &[Option<&Tensor>],
    kwargs: &Json,
) -> Result<Vec<Option<Tensor>>, Raised> {
    let arg = |i: usize| arrays.get(i).copied().flatten();
    let need = |i: usize| {
        arg(i).ok_or((
            "TypeError",
            format!("{function} needs array argument {}", i + 1),
        ))
    };
    let value = |e: String| ("ValueError", e);
    let pair = |name: &str, default: i64| -> Pair {
        match kwargs.get(name) {
            Some(Json::Number(n)) => [*n as i64; 2],
            Some(v) => match v.items() {
                Some([h, w]) => [
                    h.as_number().unwrap_or(0.0) as i64,
                    w.as_number().unwrap_or(0.0) as i64,
                ],
                _ => [default; 2],
            },
            None => [default; 2],
        }
    };
    let conv = ConvGeometry {
        stride: pair("stride", 1),
        padding: pair("padding", 0),
        dilation: pair("dilation", 1),
        groups: kwargs
            .get("groups")
            .and_then(Json::as_number)
            .unwrap_or(1.0) as i64,
    };
    let kernel = pair("kernel_size", 1);
    let pool = PoolGeometry {
        kernel,
        // stride=None (null) means kernel_size
        stride: if matches!(kwargs.get("stride"), None | Some(Json::Null)) {
            kernel
        } else {
            pair("stride", 1)
        },
        padding: pair("padding", 0),
        dilation: pair("dilation", 1),
        ceil_mode: kwargs.get("ceil_mode") == Some(&Json::Bool(true)),
    };
    match function {
        "conv2d" => Ok(vec![Some(
            kernels::conv2d(need(0)?, need(1)?, arg(2), &conv).map_err(value)?,
        )]),
        "conv2d_backward" => {
            let (dx, dw, db) =
                kernels::conv2d_backward(need(0)?, need(1)?, need(2)?, arg(3), &conv)
                    .map_err(value)?;
            Ok(vec![Some(dx), Some(dw), db])
        }
        "max_pool2d" => Ok(vec![Some(
            kernels::max_pool2d(need(0)?, &pool).map_err(value)?,
        )]),
        "max_pool2d_backward" => Ok(vec![Some(
            kernels::max_pool2d_backward(need(0)?, need(1)?, &pool).map_err(value)?,
        )]),
        _ => Err((
            "NotImplementedError",
            format!("this client does not implement {function}"),
        )),
    }
}
