"""Name the bug behind a wrong conv2d or conv2d_backward result (see hints.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ... import reference
from ...checks.hints import border_mask, explain_case, shape_evidence
from ..arguments import effective_kernel
from .cases import ConvCase


def shape_hints(case: ConvCase, actual: np.ndarray) -> list[str]:
    """Which plausible mistake in the output-size formula gives ``actual``'s shape.

    On a small example several mistakes often give the same shape: then only those whose
    values ``actual`` also has are named (see shape_evidence).
    """
    x, w, b, _ = case.arrays()
    mistakes: dict[str, tuple[dict[str, Any], object]] = {
        "ceil instead of floor division": ({"rounding": "ceil"}, None),
        "padding ignored": ({"padding": (0, 0)}, {"padding": (0, 0)}),
        "dilation ignored": ({"dilation": (1, 1)}, {"dilation": (1, 1)}),
        "stride ignored": ({"stride": (1, 1)}, {"stride": (1, 1)}),
        "stride axes swapped": ({"stride": case.stride[::-1]}, {"stride": case.stride[::-1]}),
        "padding axes swapped": ({"padding": case.padding[::-1]}, {"padding": case.padding[::-1]}),
        "padding applied on one side only": ({"one_sided": True}, "one_sided"),
    }
    return shape_evidence(
        actual,
        expected_shape=case.y_shape,
        mistakes={
            description: (
                _output_shape(case, **shape_change),
                None
                if geometry_change is None
                else partial(_mistaken_conv, case, x, w, b, geometry_change),
            )
            for description, (shape_change, geometry_change) in mistakes.items()
        },
    )


def _mistaken_conv(case: ConvCase, x, w, b, change) -> np.ndarray | None:
    """What conv2d gives with the mistaken geometry (None where that geometry is invalid)."""
    if change == "one_sided":  # pad the top and left only
        top, left = case.padding
        x = np.pad(x, ((0, 0), (0, 0), (top, 0), (left, 0)))
        change = {"padding": (0, 0)}
    return _conv_or_none(x, w, b, case.geometry | change)


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
DX_CROPPED_FROM_ORIGIN = (
    "dx is the padded input's gradient cropped from its top-left corner: crop the padding from "
    "both sides (rows padding[0] .. padding[0] + height, likewise the columns)"
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
    regions = _group_regions(case, actual.shape)
    touching = _windows_touching_padding(case)
    if touching.any() and not touching.all():
        regions.append((PADDING_ONLY, touching))
    return explain_case(
        case, comparison, actual, expected, scale, variants=variants, regions=regions
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
        if any(case.padding):
            variants.append(
                (DX_CROPPED_FROM_ORIGIN, partial(_dx_cropped_from_origin, case, x, w, dy))
            )
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
    return explain_case(
        case, comparison, actual, expected, scale, variants=variants, regions=regions
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
    dx = reference.conv2d_backward(
        dy, np.zeros(ones.x_shape), np.ones(ones.w_shape), None, **ones.geometry
    )[0]
    assert dx is not None  # need_dx is left at True
    return dx[0, 0]


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


def _dx_cropped_from_origin(case: ConvCase, x, w, dy) -> np.ndarray:
    """dL/dX of the zero-padded input, cut to x's shape from the origin instead of the centre."""
    top, left = case.padding
    padded = np.pad(x, ((0, 0), (0, 0), (top, top), (left, left)))
    grad_padded = reference.conv2d_backward(
        dy, padded, w, None, **(case.geometry | {"padding": (0, 0)})
    )[0]
    assert grad_padded is not None  # need_dx is left at True
    return grad_padded[..., : case.height, : case.width]
