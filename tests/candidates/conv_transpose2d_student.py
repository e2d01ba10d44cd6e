"""A from-scratch transposed convolution and its backward, as a course author writes one.

It shares no code with cnnref.  The forward is the textbook "fractionally
strided convolution": insert stride-1 zeros between the input's pixels, pad
by the dilated kernel's reach (output_padding more at the bottom and right),
correlate with the kernel rotated 180 degrees (channels swapped within each
group), then crop the padding off both sides.  The backward runs those steps
in reverse, each step's adjoint by hand.  ``build()`` returns it correct;
``build("bug", ...)`` returns it with realistic bugs switched on, each a
one-line departure marked ``# BUG``; ``BUGS`` names them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnref.precision import through_float32

BUGS = {
    "weight_layout_out_in": "w read as (C_out, C_in/groups, kh, kw), conv2d's layout, "
    "instead of PyTorch's (C_in, C_out/groups, kh, kw)",
    "kernel_not_rotated": "the kernel is not rotated 180 degrees: conv2d's correlation used "
    "as the transpose",
    "output_padding_as_zeros": "output_padding appends rows and columns of zeros (plus bias) "
    "instead of extending the output, wrong whenever padding > 0",
    "output_padding_both_sides": "output_padding added at the top and left as well as at the "
    "bottom and right",
    "padding_cropped_from_end": "the padding is cropped off the bottom and right only "
    "(the output starts at the full result's origin)",
    "full_pad_ignores_dilation": "the full correlation pads by kernel_size - 1 instead of "
    "dilation * (kernel_size - 1)",
    "spread_trailing_zeros": "stride - 1 zeros are inserted after the last row and column too",
    "dw_not_rotated_back": "dL/dW is the gradient of the rotated kernel, not rotated back",
    "dx_crop_adjoint_from_origin": "the backward puts dY back at the full result's origin "
    "instead of at the padding offset",
}


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def build(*bugs: str) -> SimpleNamespace:
    unknown = set(bugs) - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")
    bugs = frozenset(bugs)

    def geometry(stride, padding, output_padding, dilation):
        return pair(stride), pair(padding), pair(output_padding), pair(dilation)

    def rotated_kernel(w, groups):
        """conv2d's kernel (C_out, C_in/groups, kh, kw): each group's W^T, rotated 180 degrees."""
        c_in, out_per_group, kh, kw = w.shape
        per_group = c_in // groups
        swapped = (
            w.reshape(groups, per_group, out_per_group, kh, kw)
            .transpose(0, 2, 1, 3, 4)
            .reshape(groups * out_per_group, per_group, kh, kw)
        )
        if "weight_layout_out_in" in bugs:
            swapped = w  # BUG: w taken as already (C_out, C_in/groups, kh, kw)
        if "kernel_not_rotated" in bugs:
            return swapped  # BUG
        return swapped[:, :, ::-1, ::-1]

    def full_padding(output_padding, dilation, kernel_size):
        """(top, left, bottom, right) zero padding of spread(x) for the full correlation."""
        (oph, opw), (dh, dw), (kh, kw) = output_padding, dilation, kernel_size
        rh, rw = dh * (kh - 1), dw * (kw - 1)
        if "full_pad_ignores_dilation" in bugs:
            rh, rw = kh - 1, kw - 1  # BUG
        if "output_padding_both_sides" in bugs:
            return rh + oph, rw + opw, rh + oph, rw + opw  # BUG
        return rh, rw, rh + oph, rw + opw

    def canvas(x, stride, output_padding, dilation, kernel_size):
        """spread(x), zero-padded for the full correlation."""
        n, c, h, wd = x.shape
        sh, sw = stride
        rows, cols = (h - 1) * sh + 1, (wd - 1) * sw + 1
        if "spread_trailing_zeros" in bugs:
            rows, cols = h * sh, wd * sw  # BUG: zeros after the last pixel too
        spread = np.zeros((n, c, rows, cols), dtype=x.dtype)
        spread[:, :, ::sh, ::sw][:, :, :h, :wd] = x
        top, left, bottom, right = full_padding(output_padding, dilation, kernel_size)
        return np.pad(spread, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def correlate(full, kernel, dilation, groups):
        """Valid grouped correlation, stride 1, dilated, one einsum per tap."""
        n, _, h, wd = full.shape
        o, per_group, kh, kw = kernel.shape
        dh, dw = dilation
        oh, ow = h - dh * (kh - 1), wd - dw * (kw - 1)
        y = np.zeros((n, o, oh, ow), dtype=np.result_type(full, kernel))
        og = o // groups
        for g in range(groups):
            block = full[:, g * per_group : (g + 1) * per_group]
            for i in range(kh):
                for j in range(kw):
                    window = block[:, :, i * dh : i * dh + oh, j * dw : j * dw + ow]
                    y[:, g * og : (g + 1) * og] += np.einsum(
                        "nchw,oc->nohw", window, kernel[g * og : (g + 1) * og, :, i, j]
                    )
        return y

    def crop_start(padding):
        return (0, 0) if "padding_cropped_from_end" in bugs else padding  # BUG when from end

    def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        x, w = np.asarray(x), np.asarray(w)
        dtype = np.result_type(x, w, *([] if b is None else [b]))
        x, w = x.astype(dtype), w.astype(dtype)
        stride, (ph, pw), output_padding, dilation = geometry(
            stride, padding, output_padding, dilation
        )
        full = canvas(x, stride, output_padding, dilation, w.shape[2:])
        y_full = correlate(full, rotated_kernel(w, groups), dilation, groups)
        oh, ow = y_full.shape[2] - 2 * ph, y_full.shape[3] - 2 * pw
        top, left = crop_start((ph, pw))
        y = y_full[:, :, top : top + oh, left : left + ow].copy()
        if "output_padding_as_zeros" in bugs:
            (oph, opw) = output_padding
            y[:, :, oh - oph :], y[:, :, :, ow - opw :] = 0, 0  # BUG: padding rows are zeros
        if b is not None:
            y += np.asarray(b, dtype=dtype)[:, None, None]
        return y

    def conv_transpose2d_backward(
        dy, x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
    ):
        dy, x, w = np.asarray(dy), np.asarray(x), np.asarray(w)
        dtype = np.result_type(dy, x, w, *([] if b is None else [b]))
        dy, x, w = dy.astype(dtype), x.astype(dtype), w.astype(dtype)
        stride, (ph, pw), output_padding, dilation = geometry(
            stride, padding, output_padding, dilation
        )
        (sh, sw), (dh, dw) = stride, dilation
        n, c_in, h, wd = x.shape
        kh, kw = w.shape[2:]
        full = canvas(x, stride, output_padding, dilation, (kh, kw))
        kernel = rotated_kernel(w, groups)
        o, per_group = kernel.shape[:2]
        og = o // groups
        # The crop's adjoint: dY back where it was cut from, zeros elsewhere.
        oh, ow = full.shape[2] - dh * (kh - 1), full.shape[3] - dw * (kw - 1)
        dy_full = np.zeros((n, o, oh, ow), dtype=dtype)
        top, left = crop_start((ph, pw))
        if "dx_crop_adjoint_from_origin" in bugs:
            top, left = 0, 0  # BUG
        dy_full[:, :, top : top + dy.shape[2], left : left + dy.shape[3]] = dy
        # The correlation's adjoints: d(full) by scattering, d(kernel) by correlating.
        d_full = np.zeros_like(full)
        d_kernel = np.zeros_like(kernel)
        for g in range(groups):
            inputs, outputs = slice(g * per_group, (g + 1) * per_group), slice(g * og, (g + 1) * og)
            for i in range(kh):
                for j in range(kw):
                    rows, cols = slice(i * dh, i * dh + oh), slice(j * dw, j * dw + ow)
                    d_full[:, inputs, rows, cols] += np.einsum(
                        "nohw,oc->nchw", dy_full[:, outputs], kernel[outputs, :, i, j]
                    )
                    d_kernel[outputs, :, i, j] += np.einsum(
                        "nchw,nohw->oc", full[:, inputs, rows, cols], dy_full[:, outputs]
                    )
        # The padding's and the spreading's adjoints: dX read back from the input's places.
        top, left, _, _ = full_padding(output_padding, dilation, (kh, kw))
        grad_x = d_full[:, :, top::sh, left::sw][:, :, :h, :wd]
        # The kernel's rotation and channel swap, undone.
        if "dw_not_rotated_back" not in bugs:
            d_kernel = d_kernel[:, :, ::-1, ::-1]  # BUG when skipped
        grad_w = (
            d_kernel.reshape(groups, og, per_group, kh, kw)
            .transpose(0, 2, 1, 3, 4)
            .reshape(c_in, og, kh, kw)
        )
        grad_b = None if b is None else dy.sum(axis=(0, 2, 3))
        return np.ascontiguousarray(grad_x), np.ascontiguousarray(grad_w), grad_b

    # float16 and bfloat16 through its float32 path, rounded once (cnnref.precision.through_float32): the
    # convention half-precision kernels follow.
    return SimpleNamespace(
        conv_transpose2d=through_float32(conv_transpose2d),
        conv_transpose2d_backward=through_float32(conv_transpose2d_backward),
    )


# Targets for ``cnnref verify --impl tests.candidates.conv_transpose2d_student:NAME``: the
# student as written (``correct``), and with each catalogued bug alone (``NAME`` = the bug).
correct = build()
globals().update({bug: build(bug) for bug in BUGS})
