"""Properties of conv2d and conv2d_backward."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

from .. import reference
from ..oracles import finite_differences, scipy_correlate, torch_autograd
from ..oracles.scales import conv2d_backward_scales, conv2d_scale
from ..reference.geometry import common_dtype, effective_kernel
from ..strategies import ConvCase, conv_cases
from . import contract
from .base import Candidate, Evidence, Falsified, Property, expect_array, unpack
from .compare import compare, rtol_for, summation_rtol
from .hints import batch_region, border_mask, explain

GRADIENTS = ("dx", "dw", "db")


def _float64(*arrays):
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


def _terms(case: ConvCase) -> dict[str, int]:
    """How many products each output element sums: sets the float32 tolerance."""
    kh, kw = case.kernel_size
    oh, ow = case.y_shape[-2:]
    return {
        "y": case.in_channels // case.groups * kh * kw + 1,
        "dx": case.out_channels // case.groups * kh * kw,
        "dw": case.batch * oh * ow,
        "db": case.batch * oh * ow,
    }


def _forward(candidate: Candidate):
    """The candidate's own conv2d, or the reference's when it has none."""
    if candidate.has("conv2d"):
        return lambda *args, **kwargs: candidate.call("conv2d", *args, **kwargs)
    return reference.conv2d


# ---------------------------------------------------------------- hints


def shape_hints(case: ConvCase, shape: tuple[int, ...]) -> list[str]:
    """Which plausible mistake in the output-size formula gives ``shape``."""
    variants = {
        "ceil instead of floor division": {"rounding": "ceil"},
        "padding ignored": {"padding": (0, 0)},
        "dilation ignored": {"dilation": (1, 1)},
        "stride ignored": {"stride": (1, 1)},
        "stride axes swapped": {"stride": case.stride[::-1]},
        "padding axes swapped": {"padding": case.padding[::-1]},
        "padding applied on one side only": {"one_sided": True},
    }
    found = []
    for description, change in variants.items():
        if _output_shape(case, **change) == tuple(shape) != case.y_shape:
            found.append(f"the output shape is what you get with {description}")
    return found


def _output_shape(
    case: ConvCase, stride=None, padding=None, dilation=None, rounding="floor", one_sided=False
) -> tuple[int, ...]:
    stride, padding, dilation = (
        stride or case.stride,
        padding or case.padding,
        dilation or case.dilation,
    )
    sizes = []
    for size, k, s, p, d in zip(
        (case.height, case.width), case.kernel_size, stride, padding, dilation
    ):
        span = size + (p if one_sided else 2 * p) - effective_kernel(k, d)
        sizes.append((-(-span // s) if rounding == "ceil" else span // s) + 1)
    return (case.batch, case.out_channels, *sizes)


KERNEL_FLIPPED = (
    "y matches a true convolution, with the kernel rotated by 180 degrees: PyTorch's conv2d is a "
    "cross-correlation, y[n,o,p,q] = sum w[o,c,i,j] x[n,c,p*s+i*d,q*s+j*d], with no flip"
)
BIAS_MISSING = "y matches the output without the bias: add b[o] to every output of channel o"
KERNEL_TRANSPOSED = "y matches the kernel transposed (kh and kw swapped): w[o,c,i,j] has i for rows"
DX_KERNEL_NOT_ROTATED = (
    "dx is the gradient for the kernel rotated by 180 degrees: in the full-correlation form dL/dX "
    "correlates the zero-padded dY with rot180(W); in the scatter form it uses W as it is"
)
DW_FIRST_ITEM = (
    "dw matches the gradient of the first batch item alone: dL/dW must sum over the whole batch"
)
DW_BATCH_MEAN = "dw is the batch mean: dL/dW sums over the batch (no 1/N)"
DB_MEAN = "db is a mean: dL/db sums dY over the batch and every output pixel (no division)"
DW_ROTATED = (
    "dw is rotated by 180 degrees: dW[o,c,i,j] pairs kernel tap (i, j) with x[n,c,p*s+i*d,q*s+j*d]"
)
SHARED_INPUTS_ONLY = (
    "only inputs that several kernel taps or windows read are wrong: their contributions must be "
    "added (+=), not assigned"
)
PADDING_ONLY = "only outputs whose window overlaps the zero padding are wrong: check the padding"
BORDERS_ONLY = (
    "only inputs near the borders are wrong: check the zero padding of dY for the full "
    "correlation and the cropping of the padding"
)


def forward_hints(case: ConvCase, x, w, b, expected, actual, scale, comparison) -> list[str]:
    """Hints for a wrong conv2d output: known bugs first, then where the errors are."""
    geometry = case.geometry
    variants = [(KERNEL_FLIPPED, partial(_conv_or_none, x, w[..., ::-1, ::-1], b, geometry))]
    if b is not None:
        variants.append((BIAS_MISSING, partial(_conv_or_none, x, w, None, geometry)))
    if case.kernel_size[0] == case.kernel_size[1] > 1:
        variants.append(
            (KERNEL_TRANSPOSED, partial(_conv_or_none, x, w.swapaxes(-1, -2), b, geometry))
        )
    for name in ("stride", "padding", "dilation"):
        if geometry[name][0] != geometry[name][1]:
            swapped = geometry | {name: geometry[name][::-1]}
            description = f"y matches the output with the {name} axes swapped: {name}[0] is for height, {name}[1] for width"
            variants.append((description, partial(_conv_or_none, x, w, b, swapped)))
    regions = [batch_region(actual.shape), *_group_regions(case, actual.shape)]
    touching = _windows_touching_padding(case)
    if touching.any() and not touching.all():
        regions.append((PADDING_ONLY, touching))
    return explain(
        comparison,
        actual=actual,
        expected=expected,
        scale=scale,
        dtype=case.dtype,
        variants=variants,
        regions=regions,
    )


def backward_hints(
    case: ConvCase, name: str, x, w, dy, expected, actual, scale, comparison
) -> list[str]:
    """Hints for a wrong gradient ``name`` (dx, dw or db)."""
    geometry, variants, regions = case.geometry, [], []
    if name == "dx":
        variants.append(
            (
                DX_KERNEL_NOT_ROTATED,
                lambda: reference.conv2d_backward(dy, x, w[..., ::-1, ::-1], None, **geometry)[0],
            )
        )
        regions.append(batch_region(actual.shape))
        shared = _contributions_per_input(case) > 1
        if shared.any() and not shared.all():
            regions.append((SHARED_INPUTS_ONLY, shared))
        reach = tuple(
            effective_kernel(k, d) - 1 + p
            for k, d, p in zip(case.kernel_size, case.dilation, case.padding)
        )
        border = border_mask(actual.shape, reach)
        if not border.all():
            regions.append((BORDERS_ONLY, border))
    if name == "dw":
        variants.append((DW_ROTATED, lambda: expected[..., ::-1, ::-1]))
        if case.batch > 1:
            variants.append((DW_BATCH_MEAN, lambda: expected / case.batch))
            variants.append(
                (
                    DW_FIRST_ITEM,
                    lambda: reference.conv2d_backward(dy[:1], x[:1], w, None, **geometry)[1],
                )
            )
    if name == "db":
        variants.append((DB_MEAN, lambda: expected / (dy.size // dy.shape[1])))
    return explain(
        comparison,
        actual=actual,
        expected=expected,
        scale=scale,
        dtype=case.dtype,
        variants=variants,
        regions=regions,
    )


def _group_regions(case: ConvCase, shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    if case.groups == 1:
        return []
    later = np.zeros(shape, dtype=bool)
    later[:, case.out_channels // case.groups :] = True
    return [
        (
            "only output channels after the first group are wrong: check which input channels each "
            "group reads (group g reads channels g*C/groups to (g+1)*C/groups - 1)",
            later,
        )
    ]


def _contributions_per_input(case: ConvCase) -> np.ndarray:
    """How many (window, tap) pairs read each input pixel: dL/dX of all-ones dY and W."""
    ones = ConvCase(
        1, 1, 1, case.height, case.width, case.kernel_size, case.stride, case.padding, case.dilation
    )
    dy = np.ones(ones.y_shape)
    return reference.conv2d_backward(
        dy, np.zeros(ones.x_shape), np.ones(ones.w_shape), None, **ones.geometry
    )[0][0, 0]


def _conv_or_none(x, w, b, geometry):
    """The reference's output, or None where this geometry is invalid."""
    try:
        return reference.conv2d(x, w, b, **geometry)
    except ValueError:
        return None


def _windows_touching_padding(case: ConvCase) -> np.ndarray:
    """Output positions whose window reads at least one padded (zero) element."""
    masks = []
    for size, out, k, s, p, d in zip(
        (case.height, case.width),
        case.y_shape[-2:],
        case.kernel_size,
        case.stride,
        case.padding,
        case.dilation,
    ):
        start = np.arange(out) * s
        masks.append((start < p) | (start + effective_kernel(k, d) > size + p))
    return masks[0][:, None] | masks[1][None, :]


# ---------------------------------------------------------------- conv2d


def _call_forward(candidate: Candidate, case: ConvCase, x, w, b) -> np.ndarray:
    result = candidate.call("conv2d", x, w, b, **case.geometry)
    return expect_array(
        result,
        function="conv2d",
        name="y",
        shape=case.y_shape,
        hints=shape_hints(case, getattr(result, "shape", ())),
    )


def check_forward_matches(candidate: Candidate, case: ConvCase, evidence: Evidence, oracle) -> None:
    x, w, b, _ = case.arrays()
    y = _call_forward(candidate, case, x, w, b)
    x64, w64, b64 = _float64(x, w, b)
    scale = conv2d_scale(x64, w64, b64, **case.geometry)
    expected = oracle(x64, w64, b64, **case.geometry)
    comparison = compare(
        y,
        expected,
        scale=scale,
        rtol=rtol_for(case.dtype, _terms(case)["y"]),
        name="y",
    )
    evidence.require(
        comparison,
        partial(forward_hints, case, x64, w64, b64, expected, y, scale),
        inputs={"x": x, "w": w, "b": b},
    )


def forward_matches_reference(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, reference.conv2d)


def forward_matches_scipy(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, scipy_correlate.conv2d_forward)


def forward_matches_torch(candidate, case, evidence):
    def torch_forward(x, w, b, **geometry):
        return torch_autograd.conv2d_with_gradients(x, w, b, np.zeros(case.y_shape), **geometry)[0]

    check_forward_matches(candidate, case, evidence, torch_forward)


def bias_is_added_per_channel(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """conv2d(x, w, b) - conv2d(x, w, None) = b[o] at every output of channel o."""
    x, w, b, _ = case.arrays()
    with_bias = _call_forward(candidate, case, x, w, b)
    without = _call_forward(candidate, case, x, w, None)
    difference = with_bias.astype(np.float64) - without
    expected = np.broadcast_to(np.asarray(b, dtype=np.float64)[:, None, None], difference.shape)
    scale = conv2d_scale(*_float64(x, w, b), **case.geometry)
    evidence.require(
        compare(
            difference,
            expected,
            scale=scale,
            rtol=rtol_for(case.dtype, _terms(case)["y"]),
            name="conv2d(x, w, b) - conv2d(x, w, None)",
        )
    )


def forward_contract(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    x, w, b, _ = case.arrays()
    outputs = contract.call_and_check(
        candidate,
        "conv2d",
        (x, w, b),
        case.geometry,
        names=("y",),
        shapes=(case.y_shape,),
        dtype=common_dtype(x, w, b),
    )
    contract.require_finite(outputs, "conv2d", "finite inputs")


# ---------------------------------------------------------------- conv2d_backward


def _call_backward(candidate: Candidate, case: ConvCase, dy, x, w, b) -> tuple:
    result = unpack(
        candidate.call("conv2d_backward", dy, x, w, b, **case.geometry),
        function="conv2d_backward",
        names=GRADIENTS,
    )
    dx = expect_array(result[0], function="conv2d_backward", name="dx", shape=case.x_shape)
    dw = expect_array(result[1], function="conv2d_backward", name="dw", shape=case.w_shape)
    if b is None:
        if result[2] is not None:
            raise Falsified(
                f"conv2d_backward returned db={type(result[2]).__name__} for b=None; expected None"
            )
        return dx, dw, None
    return (
        dx,
        dw,
        expect_array(result[2], function="conv2d_backward", name="db", shape=(case.out_channels,)),
    )


def check_backward_matches(
    candidate: Candidate, case: ConvCase, evidence: Evidence, oracle
) -> None:
    x, w, b, dy = case.arrays()
    actual = _call_backward(candidate, case, dy, x, w, b)
    x64, w64, b64, dy64 = _float64(x, w, b, dy)
    expected = oracle(dy64, x64, w64, b64, **case.geometry)
    scales = conv2d_backward_scales(dy64, x64, w64, b64, **case.geometry)
    terms = _terms(case)
    for name, got, want, scale in zip(GRADIENTS, actual, expected, scales):
        if got is None:
            continue
        comparison = compare(
            got, want, scale=scale, rtol=rtol_for(case.dtype, terms[name]), name=name
        )
        evidence.require(
            comparison,
            partial(backward_hints, case, name, x64, w64, dy64, want, got, scale),
            inputs={"dy": dy, "x": x, "w": w},
        )


def backward_matches_reference(candidate, case, evidence):
    check_backward_matches(candidate, case, evidence, reference.conv2d_backward)


def backward_matches_torch(candidate, case, evidence):
    def torch_backward(dy, x, w, b, **geometry):
        return torch_autograd.conv2d_with_gradients(x, w, b, dy, **geometry)[1:]

    check_backward_matches(candidate, case, evidence, torch_backward)


def backward_finite_differences(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """dx and dw against central differences of the forward.

    conv2d is linear in x and in w, so a central difference is exact for any
    step: a unit step keeps the rounding error smallest.
    """
    x, w, b, dy = case.arrays()
    forward = _forward(candidate)
    dx, dw, _ = _call_backward(candidate, case, dy, x, w, b)
    tolerance = summation_rtol(case.dtype, max(_terms(case).values()), dy.size)
    rng = np.random.default_rng(case.seed + 1)

    def magnitude(step_x=0.0, step_w=0.0):
        scale = conv2d_scale(*_float64(np.abs(x) + step_x, np.abs(w) + step_w, b), **case.geometry)
        return float(np.sum(scale * np.abs(dy)))

    for name, gradient, operand, as_function in (
        ("dx", dx, x, lambda v: forward(v, w, b, **case.geometry)),
        ("dw", dw, w, lambda v: forward(x, v, b, **case.geometry)),
    ):
        scale = magnitude(1.0, 0.0) if name == "dx" else magnitude(0.0, 1.0)
        if operand.size <= finite_differences.FULL_JACOBIAN_LIMIT:
            numerical = finite_differences.numerical_gradient(as_function, operand, dy, eps=1.0)
            evidence.require(
                compare(
                    gradient,
                    numerical,
                    scale=scale,
                    rtol=tolerance,
                    name=f"{name} vs finite differences",
                ),
                inputs={"x": x, "w": w, "dy": dy},
            )
            continue
        for _ in range(finite_differences.PROJECTIONS):
            direction = rng.choice([-1.0, 1.0], size=operand.shape).astype(case.dtype)
            numerical = finite_differences.directional_derivative(
                as_function, operand, dy, direction, eps=1.0
            )
            analytic = float(np.vdot(np.asarray(gradient, np.float64), direction))
            evidence.require(
                compare(
                    np.array(analytic),
                    np.array(numerical),
                    scale=scale,
                    rtol=tolerance,
                    name=f"<{name}, v> vs finite differences along a random sign vector v",
                )
            )


def backward_adjointness(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """<conv2d(x, w), g> = <x, dX(g)> = <w, dW(g)>: conv2d is bilinear."""
    x, w, _, g = case.arrays()
    y = np.asarray(_forward(candidate)(x, w, None, **case.geometry), dtype=np.float64)
    dx, dw, _ = _call_backward(candidate, case, g, x, w, None)
    x64, w64, g64 = _float64(x, w, g)
    output_side = float(np.vdot(y, g64))
    scale = float(np.sum(conv2d_scale(x64, w64, None, **case.geometry) * np.abs(g64)))
    rtol = summation_rtol(case.dtype, max(_terms(case).values()), g.size)
    for label, value in (("<x, dX(g)>", np.vdot(x64, dx)), ("<w, dW(g)>", np.vdot(w64, dw))):
        evidence.require(
            compare(
                np.array(float(value)),
                np.array(output_side),
                scale=scale,
                rtol=rtol,
                name=f"{label} against <conv2d(x, w), g>",
            )
        )


def backward_contract(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    x, w, b, dy = case.arrays()
    shapes = (case.x_shape, case.w_shape, None if b is None else (case.out_channels,))
    gradients = contract.call_and_check(
        candidate,
        "conv2d_backward",
        (dy, x, w, b),
        case.geometry,
        names=GRADIENTS,
        shapes=shapes,
        dtype=common_dtype(dy, x, w, b),
    )
    contract.require_finite(gradients, "conv2d_backward", "finite inputs")
    contract.require_zero_gradients(
        candidate, "conv2d_backward", (np.zeros_like(dy), x, w, b), case.geometry, GRADIENTS
    )


# ---------------------------------------------------------------- registry


def _cases(**fixed):
    def cases(dtype: str, unsupported: frozenset[str]):
        strategy = conv_cases(dtype=dtype, unsupported=unsupported)
        return strategy.map(lambda case: _replace(case, **fixed)) if fixed else strategy

    return cases


def _replace(case: ConvCase, **fields) -> ConvCase:
    return replace(case, **fields)


FORWARD = (
    "Y[n,o,p,q] = b[o] + sum_{c,i,j} X[n, g*C/G + c, p*s + i*d - pad, q*s + j*d - pad] W[o,c,i,j]"
)
BACKWARD = (
    "dW = Xpad (*) dY (valid correlation, batch summed);  "
    "dX = crop(pad(spread_s(dY)) (*) rot180(W^T));  db = sum_{n,p,q} dY"
)

PROPERTIES = (
    Property(
        "conv2d.matches_reference",
        "conv2d",
        "conv2d agrees with cnnref's reference element by element.",
        FORWARD,
        _cases(),
        forward_matches_reference,
    ),
    Property(
        "conv2d.matches_scipy",
        "conv2d",
        "conv2d agrees with scipy.signal.correlate, image by image and channel by channel.",
        FORWARD,
        _cases(),
        forward_matches_scipy,
    ),
    Property(
        "conv2d.matches_torch",
        "conv2d",
        "conv2d agrees with torch.nn.functional.conv2d.",
        FORWARD,
        _cases(),
        forward_matches_torch,
        needs_torch=True,
    ),
    Property(
        "conv2d.bias_linearity",
        "conv2d",
        "The bias adds b[o] to every output of channel o, and nothing else.",
        "conv2d(x, w, b) - conv2d(x, w, None) = b[o]",
        _cases(bias=True),
        bias_is_added_per_channel,
    ),
    Property(
        "conv2d.contract",
        "conv2d",
        "conv2d returns a new ndarray of the right shape and dtype, finite, the same on every call, and leaves its inputs alone.",
        "dtype(Y) = result_type(X, W, b)",
        _cases(),
        forward_contract,
    ),
    Property(
        "conv2d_backward.matches_reference",
        "conv2d_backward",
        "dx, dw and db agree with cnnref's reference element by element.",
        BACKWARD,
        _cases(),
        backward_matches_reference,
    ),
    Property(
        "conv2d_backward.finite_differences",
        "conv2d_backward",
        "dx and dw agree with central finite differences of the candidate's own conv2d (the reference's if it has none): full Jacobians on small shapes, random sign projections on large ones.",
        "<dL/dX, v> = d/dt <conv2d(X + t v, W), dY>",
        _cases(),
        backward_finite_differences,
    ),
    Property(
        "conv2d_backward.adjointness",
        "conv2d_backward",
        "The gradients are the adjoints of the forward: <conv2d(x, w), g> = <x, dX(g)> = <w, dW(g)>.",
        "<conv2d(X, W), G> = <X, dX(G)> = <W, dW(G)>",
        _cases(),
        backward_adjointness,
    ),
    Property(
        "conv2d_backward.matches_torch",
        "conv2d_backward",
        "dx, dw and db agree with PyTorch autograd.",
        BACKWARD,
        _cases(),
        backward_matches_torch,
        needs_torch=True,
    ),
    Property(
        "conv2d_backward.contract",
        "conv2d_backward",
        "conv2d_backward returns new arrays (db None without b) of the right shapes and dtype, finite, deterministic, zero for zero dy, and leaves its inputs alone.",
        "dtype = result_type(dY, X, W, b)",
        _cases(),
        backward_contract,
    ),
)
