"""Name the bug behind a wrong conv_transpose2d or conv_transpose2d_backward result.

Each known mistake's result is computed with the reference from the scatter's
whole reach ("the full result", before the padding is cropped): a mistaken
crop or a mistaken canvas is the same full result, cut at another place.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...checks.hints import explain_case, shape_evidence
from ..arguments import effective_kernel
from .cases import ConvTransposeCase

KERNEL_NOT_ROTATED = (
    "y matches conv2d's correlation with the kernel as it is: the transposed convolution, "
    "written as a full correlation of the spread input, uses the kernel rotated by 180 degrees "
    "(as a scatter, each x[i, j] lands on y[i*s + ki*d, j*s + kj*d] weighted by w[c, o, ki, kj])"
)
WEIGHT_LAYOUT = (
    "w is read as (C_out, C_in/groups, kh, kw), conv2d's layout: conv_transpose2d's w is "
    "(C_in, C_out/groups, kh, kw), so w[c, o] weighs input channel c into output channel o"
)
OUTPUT_PADDING_AS_ZEROS = (
    "the last output_padding rows and columns are zeros (plus the bias): output_padding extends "
    "the output into the scatter's result, which is not zero there when padding > 0"
)
OUTPUT_PADDING_BOTH_SIDES = (
    "output_padding added at the top and left as well: it adds rows and columns at the bottom "
    "and right only"
)
CROPPED_FROM_END = (
    "the padding cropped off the bottom and right only: crop padding rows and columns from "
    "both sides (the output starts at row padding[0], column padding[1] of the full result)"
)
PAD_IGNORES_DILATION = (
    "the full correlation padded by kernel_size - 1 instead of dilation * (kernel_size - 1): "
    "the dilated kernel reaches dilation * (kernel_size - 1) past each pixel"
)
TRAILING_ZEROS = (
    "stride - 1 zeros inserted after the last row and column too: spreading x puts stride - 1 "
    "zeros between pixels, none after the last"
)
DX_KERNEL_NOT_ROTATED = (
    "dx is the gradient for the kernel rotated by 180 degrees, as when the forward "
    "correlates with the kernel as it is: see conv_transpose2d.matches_reference (the full "
    "correlation's kernel is w rotated by 180 degrees, channels swapped within each group)"
)
DW_NOT_ROTATED_BACK = (
    "dw is rotated by 180 degrees: the gradient of the rotated kernel must be rotated back "
    "(dW[c, o, ki, kj] pairs x[n, c, i, j] with dY at i*s + ki*d - padding)"
)
DY_AT_ORIGIN = (
    "the backward reads dY as if the output started at the full result's origin: dY[p, q] "
    "belongs at row p + padding[0], column q + padding[1] of the full result"
)


def full_result(x, w, case: ConvTransposeCase) -> np.ndarray:
    """The scatter over its whole reach, without the bias: padding 0, no output_padding."""
    return reference.conv_transpose2d(x, w, None, **(case.geometry | _unpadded()))


def _unpadded() -> dict:
    return {"padding": (0, 0), "output_padding": (0, 0)}


def cut(full: np.ndarray, start: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
    """Rows start[0] ... start[0] + size[0] - 1 (likewise columns) of ``full``, zeros past its
    ends: what a crop at ``start`` of a canvas padded with zeros gives."""
    (top, left), (height, width) = start, size
    out = np.zeros((*full.shape[:2], max(height, 0), max(width, 0)), dtype=full.dtype)
    rows = range(max(0, top), min(full.shape[2], top + height))
    cols = range(max(0, left), min(full.shape[3], left + width))
    if len(rows) and len(cols):
        out[:, :, rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = full[
            :, :, rows.start : rows.stop, cols.start : cols.stop
        ]
    return out


def _with_bias(y: np.ndarray, b) -> np.ndarray:
    return y if b is None else y + np.asarray(b)[:, None, None]


def _mistaken_outputs(case: ConvTransposeCase, x, w, b) -> dict[str, tuple]:
    """Each geometric mistake: (the output shape it gives, what it computes)."""
    oh, ow = case.y_shape[-2:]
    padding, output_padding, stride = case.padding, case.output_padding, case.stride
    lost = tuple((d - 1) * (k - 1) for k, d in zip(case.kernel_size, case.dilation))

    def values(start, size):
        return lambda: _with_bias(cut(full_result(x, w, case), start, size), b)

    both_sides = tuple(p - op for p, op in zip(padding, output_padding))
    longer = (oh + output_padding[0], ow + output_padding[1])
    trailing = (oh + stride[0] - 1, ow + stride[1] - 1)
    shorter = (oh - 2 * lost[0], ow - 2 * lost[1])
    undilated = tuple(p + extra for p, extra in zip(padding, lost))
    return {
        OUTPUT_PADDING_BOTH_SIDES: (longer, values(both_sides, longer)),
        TRAILING_ZEROS: (trailing, values(padding, trailing)),
        PAD_IGNORES_DILATION: (shorter, values(undilated, shorter)),
        CROPPED_FROM_END: ((oh, ow), values((0, 0), (oh, ow))),
    }


def shape_hints(case: ConvTransposeCase, actual: np.ndarray) -> list[str]:
    """Which plausible mistake gives ``actual``'s shape (and, where known, its values)."""
    x, w, b, _ = case.arrays()
    mistakes = {
        description: ((case.batch, case.out_channels, *size), build)
        for description, (size, build) in _mistaken_outputs(case, x, w, b).items()
        if description != CROPPED_FROM_END
    }
    if case.in_channels != case.out_channels:
        mistakes[WEIGHT_LAYOUT] = ((case.batch, case.in_channels, *case.y_shape[-2:]), None)
    return shape_evidence(actual, expected_shape=case.y_shape, mistakes=mistakes)


def forward_hints(
    case: ConvTransposeCase, x, w, b, expected, actual, scale, comparison
) -> list[str]:
    """Hints for a wrong conv_transpose2d output: which known mistake it matches."""
    geometry = case.geometry
    variants = [
        (
            KERNEL_NOT_ROTATED,
            partial(reference.conv_transpose2d, x, w[..., ::-1, ::-1], b, **geometry),
        )
    ]
    if case.in_channels == case.out_channels:
        variants.append(
            (
                WEIGHT_LAYOUT,
                partial(
                    reference.conv_transpose2d, x, _layout_swapped(w, case.groups), b, **geometry
                ),
            )
        )
    if any(case.output_padding):
        variants.append((OUTPUT_PADDING_AS_ZEROS, partial(_output_padding_zeroed, case, x, w, b)))
    if any(case.padding):
        variants.append((CROPPED_FROM_END, _mistaken_outputs(case, x, w, b)[CROPPED_FROM_END][1]))
    return explain_case(case, comparison, actual, expected, scale, variants=variants)


def backward_hints(
    case: ConvTransposeCase, name: str, x, w, dy, expected, actual, scale, comparison
) -> list[str]:
    """Hints for a wrong gradient ``name`` (dx, dw or db)."""
    variants = []
    if name == "dx" and case.kernel_size != (1, 1):  # dw does not depend on w
        variants.append(
            (
                DX_KERNEL_NOT_ROTATED,
                lambda: reference.conv_transpose2d_backward(
                    dy, x, w[..., ::-1, ::-1], None, **case.geometry
                )[0],
            )
        )
    if name == "dw":
        variants.append((DW_NOT_ROTATED_BACK, lambda: expected[..., ::-1, ::-1]))
    if name in ("dx", "dw") and any(case.padding):
        index = GRADIENT_INDEX[name]
        variants.append((DY_AT_ORIGIN, lambda: _gradients_of_dy_at_origin(case, x, w, dy)[index]))
    return explain_case(case, comparison, actual, expected, scale, variants=variants)


GRADIENT_INDEX = {"dx": 0, "dw": 1}


def _layout_swapped(w: np.ndarray, groups: int) -> np.ndarray:
    """The weight a (C_out, C_in/groups) reading of ``w`` amounts to (C_in = C_out): each
    group's square block of channels transposed."""
    per_group = w.shape[1]
    blocks = w.reshape(groups, per_group, per_group, *w.shape[2:]).swapaxes(1, 2)
    return blocks.reshape(w.shape)


def _output_padding_zeroed(case: ConvTransposeCase, x, w, b) -> np.ndarray:
    """The output with its last output_padding rows and columns set to zero, then the bias."""
    y = reference.conv_transpose2d(x, w, None, **case.geometry)
    (oph, opw), (oh, ow) = case.output_padding, y.shape[-2:]
    y[:, :, oh - oph :] = 0
    y[:, :, :, ow - opw :] = 0
    return _with_bias(y, b)


def _gradients_of_dy_at_origin(case: ConvTransposeCase, x, w, dy) -> tuple:
    """dx and dw when dY is placed at the full result's origin instead of at the padding."""
    placed = cut(dy, (0, 0), reach_of(case))
    return reference.conv_transpose2d_backward(placed, x, w, None, **(case.geometry | _unpadded()))


def reach_of(case: ConvTransposeCase) -> tuple[int, ...]:
    """Rows and columns of the full result: (H - 1)*s + d*(k - 1) + 1."""
    return tuple(
        (size - 1) * s + effective_kernel(k, d)
        for size, s, k, d in zip(
            (case.height, case.width), case.stride, case.kernel_size, case.dilation
        )
    )
