//! The four kernels, with PyTorch CPU semantics: replace them with yours.
//!
//! Every array is NCHW in C order.  The kernels compute in f64; a result goes back in the
//! inputs' dtype, rounded once to nearest even (float64 if any input is float64; float32
//! for mixed formats; float16 and bfloat16 as themselves).

/// The formats an array comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    Float64,
    Float32,
    Float16,
    BFloat16,
}

impl Dtype {
    /// The dtype of a result from inputs of dtypes `self` and `other` (NumPy's promotion).
    pub fn promote(self, other: Dtype) -> Dtype {
        if self == other {
            self
        } else if self == Dtype::Float64 || other == Dtype::Float64 {
            Dtype::Float64
        } else {
            Dtype::Float32
        }
    }
}

/// An array: its shape, its elements in C order (as f64), and the dtype it came in.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub dtype: Dtype,
}

impl Tensor {
    pub fn zeros(shape: &[usize], dtype: Dtype) -> Tensor {
        Tensor {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
            dtype,
        }
    }

    /// The size of dimension `d`, or 1 past the last.
    fn dim(&self, d: usize) -> usize {
        self.shape.get(d).copied().unwrap_or(1)
    }

    /// The flat index of element (n, c, h, w) of a 4-D tensor.
    fn index(&self, n: usize, c: usize, h: usize, w: usize) -> usize {
        ((n * self.dim(1) + c) * self.dim(2) + h) * self.dim(3) + w
    }
}

/// (height, width)
pub type Pair = [i64; 2];

pub struct ConvGeometry {
    pub stride: Pair,
    pub padding: Pair,
    pub dilation: Pair,
    pub groups: i64,
}

pub struct PoolGeometry {
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub dilation: Pair,
    pub ceil_mode: bool,
}

fn conv_output_size(size: i64, k: i64, s: i64, p: i64, d: i64) -> i64 {
    (size + 2 * p - d * (k - 1) - 1).div_euclid(s) + 1
}

/// PyTorch's pooling output size: in ceil mode the last window must start inside the input
/// or its left padding.
fn pool_output_size(size: i64, k: i64, s: i64, p: i64, d: i64, ceil_mode: bool) -> i64 {
    let rounding = if ceil_mode { s - 1 } else { 0 };
    let mut out = (size + 2 * p - d * (k - 1) - 1 + rounding).div_euclid(s) + 1;
    if ceil_mode && (out - 1) * s >= size + p {
        out -= 1;
    }
    out
}

/// The taps of window `out` along one axis that read the input (not the padding), with the
/// input position each reads: (tap, position).
fn taps(
    out: usize,
    kernel: usize,
    stride: i64,
    padding: i64,
    dilation: i64,
    size: usize,
) -> impl Iterator<Item = (usize, usize)> {
    (0..kernel).filter_map(move |k| {
        let position = out as i64 * stride - padding + k as i64 * dilation;
        (0..size as i64)
            .contains(&position)
            .then_some((k, position as usize))
    })
}

fn conv_output(x: &Tensor, w: &Tensor, g: &ConvGeometry) -> Result<[usize; 2], String> {
    let (channels, out_channels, groups) = (x.dim(1) as i64, w.dim(0) as i64, g.groups);
    if groups < 1 || channels != w.dim(1) as i64 * groups || out_channels % groups != 0 {
        return Err(format!(
            "x has {channels} channels, w has shape {:?}: they do not fit groups={groups}",
            w.shape
        ));
    }
    let oh = conv_output_size(
        x.dim(2) as i64,
        w.dim(2) as i64,
        g.stride[0],
        g.padding[0],
        g.dilation[0],
    );
    let ow = conv_output_size(
        x.dim(3) as i64,
        w.dim(3) as i64,
        g.stride[1],
        g.padding[1],
        g.dilation[1],
    );
    if oh < 1 || ow < 1 {
        return Err("the kernel does not fit the padded input".into());
    }
    Ok([oh as usize, ow as usize])
}

/// What one pass over every (output, tap) pair computes: the forward, or both gradients.
enum ConvPass<'a> {
    Forward {
        y: &'a mut Tensor,
    },
    Backward {
        dy: &'a Tensor,
        dx: &'a mut Tensor,
        dw: &'a mut Tensor,
    },
}

fn conv_loop(x: &Tensor, w: &Tensor, g: &ConvGeometry, [oh, ow]: [usize; 2], mut pass: ConvPass) {
    let (per_group_in, per_group_out) = (w.dim(1), w.dim(0) / g.groups as usize);
    let ([sh, sw], [ph, pw], [dil_h, dil_w]) = (g.stride, g.padding, g.dilation);
    for n in 0..x.dim(0) {
        for o in 0..w.dim(0) {
            for i in 0..oh {
                for j in 0..ow {
                    let out = ((n * w.dim(0) + o) * oh + i) * ow + j;
                    let mut sum = 0.0;
                    for c in 0..per_group_in {
                        let channel = (o / per_group_out) * per_group_in + c;
                        for (kh, row) in taps(i, w.dim(2), sh, ph, dil_h, x.dim(2)) {
                            for (kw, col) in taps(j, w.dim(3), sw, pw, dil_w, x.dim(3)) {
                                let (xi, wi) =
                                    (x.index(n, channel, row, col), w.index(o, c, kh, kw));
                                match &mut pass {
                                    ConvPass::Forward { .. } => sum += x.data[xi] * w.data[wi],
                                    ConvPass::Backward { dy, dx, dw } => {
                                        dx.data[xi] += dy.data[out] * w.data[wi];
                                        dw.data[wi] += dy.data[out] * x.data[xi];
                                    }
                                }
                            }
                        }
                    }
                    if let ConvPass::Forward { y } = &mut pass {
                        y.data[out] += sum;
                    }
                }
            }
        }
    }
}

pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: &ConvGeometry,
) -> Result<Tensor, String> {
    let [oh, ow] = conv_output(x, w, g)?;
    let dtype = b
        .iter()
        .fold(x.dtype.promote(w.dtype), |d, b| d.promote(b.dtype));
    let mut y = Tensor::zeros(&[x.dim(0), w.dim(0), oh, ow], dtype);
    if let Some(b) = b {
        for (k, value) in y.data.iter_mut().enumerate() {
            *value = b.data[(k / (oh * ow)) % w.dim(0)];
        }
    }
    conv_loop(x, w, g, [oh, ow], ConvPass::Forward { y: &mut y });
    Ok(y)
}

pub fn conv2d_backward(
    dy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: &ConvGeometry,
) -> Result<(Tensor, Tensor, Option<Tensor>), String> {
    let [oh, ow] = conv_output(x, w, g)?;
    let expected = [x.dim(0), w.dim(0), oh, ow];
    if dy.shape != expected {
        return Err(format!(
            "dy has shape {:?}; expected {expected:?}",
            dy.shape
        ));
    }
    let inputs = dy.dtype.promote(x.dtype).promote(w.dtype);
    let dtype = b.iter().fold(inputs, |d, b| d.promote(b.dtype));
    let mut dx = Tensor::zeros(&x.shape, dtype);
    let mut dw = Tensor::zeros(&w.shape, dtype);
    // db[o] = the sum of dy over batch, rows and columns.
    let db = b.map(|_| {
        let mut db = Tensor::zeros(&[w.dim(0)], dtype);
        for (k, value) in dy.data.iter().enumerate() {
            db.data[(k / (oh * ow)) % w.dim(0)] += value;
        }
        db
    });
    conv_loop(
        x,
        w,
        g,
        [oh, ow],
        ConvPass::Backward {
            dy,
            dx: &mut dx,
            dw: &mut dw,
        },
    );
    Ok((dx, dw, db))
}

fn pool_output(x: &Tensor, g: &PoolGeometry) -> Result<[usize; 2], String> {
    let side = |a: usize| {
        pool_output_size(
            x.dim(2 + a) as i64,
            g.kernel[a],
            g.stride[a],
            g.padding[a],
            g.dilation[a],
            g.ceil_mode,
        )
    };
    let (oh, ow) = (side(0), side(1));
    if oh < 1 || ow < 1 {
        return Err("the input is too small: no window fits".into());
    }
    Ok([oh as usize, ow as usize])
}

/// The flat index of the input element window (n, c, i, j) routes to, as PyTorch CPU does:
/// walking the window's in-bounds elements in row-major order, an element takes over when it
/// is strictly greater than the best so far, or NaN.  The first maximum wins a tie, the last
/// NaN wins, and a window of -inf keeps its first in-bounds element.
fn route(
    x: &Tensor,
    n: usize,
    c: usize,
    i: usize,
    j: usize,
    g: &PoolGeometry,
) -> Result<usize, String> {
    let mut winner = None;
    let mut best = f64::NEG_INFINITY;
    let ([kh, kw], [sh, sw], [ph, pw], [dil_h, dil_w]) =
        (g.kernel, g.stride, g.padding, g.dilation);
    for (_, row) in taps(i, kh as usize, sh, ph, dil_h, x.dim(2)) {
        for (_, col) in taps(j, kw as usize, sw, pw, dil_w, x.dim(3)) {
            let index = x.index(n, c, row, col);
            let value = x.data[index];
            if winner.is_none() {
                winner = Some(index); // a window of -inf keeps this one
            }
            if value > best || value.is_nan() {
                best = value;
                winner = Some(index);
            }
        }
    }
    winner.ok_or_else(|| format!("window ({i}, {j}) reads only padding"))
}

/// Calls `visit(window's flat output index, routed input index)` for every window.
fn for_each_window(
    x: &Tensor,
    g: &PoolGeometry,
    mut visit: impl FnMut(usize, usize),
) -> Result<[usize; 2], String> {
    let [oh, ow] = pool_output(x, g)?;
    for n in 0..x.dim(0) {
        for c in 0..x.dim(1) {
            for i in 0..oh {
                for j in 0..ow {
                    visit(
                        ((n * x.dim(1) + c) * oh + i) * ow + j,
                        route(x, n, c, i, j, g)?,
                    );
                }
            }
        }
    }
    Ok([oh, ow])
}

pub fn max_pool2d(x: &Tensor, g: &PoolGeometry) -> Result<Tensor, String> {
    let [oh, ow] = pool_output(x, g)?;
    let mut y = Tensor::zeros(&[x.dim(0), x.dim(1), oh, ow], x.dtype);
    // The routed element itself: a -0.0/+0.0 tie keeps the first zero's sign.
    for_each_window(x, g, |out, winner| y.data[out] = x.data[winner])?;
    Ok(y)
}

pub fn max_pool2d_backward(dy: &Tensor, x: &Tensor, g: &PoolGeometry) -> Result<Tensor, String> {
    let [oh, ow] = pool_output(x, g)?;
    let expected = [x.dim(0), x.dim(1), oh, ow];
    if dy.shape != expected {
        return Err(format!(
            "dy has shape {:?}; expected {expected:?}",
            dy.shape
        ));
    }
    let mut dx = Tensor::zeros(&x.shape, dy.dtype.promote(x.dtype));
    // Overlapping windows add up.
    for_each_window(x, g, |out, winner| dx.data[winner] += dy.data[out])?;
    Ok(dx)
}
