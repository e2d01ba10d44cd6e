"""A from-scratch implementation of the four functions, as a course or framework author writes one.

It shares no code with cnnref's reference: the forward is an im2col over
kernel taps, the gradients loop over taps with strided adds, pooling keeps
an explicit argmax.  ``build()`` returns it correct; ``build("bug", ...)``
returns it with realistic bugs switched on, each a one-line departure
marked ``# BUG``.  ``catalogue.py`` names the bugs.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnref.precision import through_float32


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def build(*bugs: str) -> SimpleNamespace:
    bugs = frozenset(bugs)

    # BUG when "pair_rejects_int": tuple(2) raises, so conv2d(x, w, stride=2) fails.
    as_pair = tuple if "pair_rejects_int" in bugs else pair
    # BUG when "padding_default_one": "same" padding for 3x3 kernels, not PyTorch's 0.
    default_padding = 1 if "padding_default_one" in bugs else 0

    def conv_geometry(stride, padding, dilation):
        (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
        if "stride_axes_swapped" in bugs:
            sh, sw = sw, sh  # BUG: stride[0] is the height stride
        if "dilation_ignored" in bugs:
            dh = dw = 1  # BUG
        return (sh, sw), (ph, pw), (dh, dw)

    def padded(x, ph, pw):
        if ph == pw == 0:
            return x  # no copy when there is no padding
        if "padding_one_side" in bugs:
            return np.pad(x, ((0, 0), (0, 0), (ph, 0), (pw, 0)))  # BUG: top and left only
        return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

    def taps(xp, kh, kw, oh, ow, stride, dilation):
        """(N, C, kh, kw, OH, OW) view of every tap of every window."""
        (sh, sw), (dh, dw) = stride, dilation
        n, c, h, w = xp.shape
        if "assumes_contiguous" in bugs:
            s = (
                np.array([c * h * w, h * w, w, 1]) * xp.itemsize
            )  # BUG: strides of a C-contiguous array
        else:
            s = np.array(xp.strides)
        return as_strided(
            xp, (n, c, kh, kw, oh, ow), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw)
        )

    last_input: dict = {}  # x's shape -> the last forward's x of that shape

    def conv2d(x, w, b=None, stride=1, padding=default_padding, dilation=1, groups=1):
        x, w = np.asarray(x), np.asarray(w)
        if "shape_keyed_cache" in bugs:
            last_input[x.shape] = x.copy()  # BUG (with the backward's read below)
        dtype = np.result_type(x, w, *([] if b is None else [b]))
        (sh, sw), (ph, pw), (dh, dw) = conv_geometry(stride, padding, dilation)
        xp = padded(x, ph, pw)
        n, _c, h, wd = xp.shape
        o, cg, kh, kw = w.shape
        if "flip_kernel" in bugs:
            w = w[:, :, ::-1, ::-1]  # BUG: the textbook convolution, not PyTorch's correlation
        oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
        patches = taps(xp, kh, kw, oh, ow, (sh, sw), (dh, dw))
        accumulate = np.float32 if "float32_accumulator" in bugs else dtype  # BUG when float32
        if "float64_output" in bugs:
            accumulate = dtype = np.float64  # BUG: float64 whatever the inputs
        y = np.zeros((n, o, oh, ow), dtype=accumulate)
        og = o // groups
        for g in range(groups):
            start = (
                0 if "groups_read_first_block" in bugs else g * cg
            )  # BUG: every group reads block 0
            block = patches[:, start : start + cg]
            y[:, g * og : (g + 1) * og] = np.einsum(
                "ncijhw,ocij->nohw", block, w[g * og : (g + 1) * og]
            )
        if b is not None:
            if "bias_first_item_only" in bugs:
                y[0] += b[:, None, None]  # BUG: only the first batch item
            else:
                y += np.asarray(b)[:, None, None]
        return y.astype(dtype)

    def conv2d_backward(dy, x, w, b=None, stride=1, padding=default_padding, dilation=1, groups=1):
        dy, x, w = np.asarray(dy), np.asarray(x), np.asarray(w)
        if "dy_nan_zeroed_in_place" in bugs:
            dy[np.isnan(dy)] = 0  # BUG: "sanitizes" the caller's array
        if "shape_keyed_cache" in bugs:
            x = last_input.pop(x.shape, x)  # BUG: the last forward's x of this shape, not x
        dtype = np.result_type(dy, x, w, *([] if b is None else [b]))
        (sh, sw), (ph, pw), (dh, dw) = conv_geometry(stride, padding, dilation)
        xp = padded(x, ph, pw)
        n, _c, _h, _wd = xp.shape
        o, cg, kh, kw = w.shape
        oh, ow = dy.shape[-2:]
        og = o // groups
        if "flip_kernel" in bugs:
            w = w[:, :, ::-1, ::-1]  # BUG, consistently: the gradients of the flipped forward
        patches = taps(xp, kh, kw, oh, ow, (sh, sw), (dh, dw))
        dw_dtype = np.float32 if "backward_float32" in bugs else dtype
        grad_w = np.zeros(w.shape, dtype=dw_dtype)
        grad_xp = np.zeros(xp.shape, dtype=dtype)
        batches = [slice(0, n)]
        if "dw_whole_chunks_only" in bugs and n > 32:
            batches = [
                slice(start, start + 32) for start in range(0, n - n % 32, 32)
            ]  # BUG: drops the tail
        # The scatter form of dL/dX uses W as it is (the full-correlation form rotates it).
        scattered = w[:, :, ::-1, ::-1] if "dx_kernel_rotated" in bugs else w  # BUG when rotated
        for g in range(groups):
            channels, outputs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            for batch in batches:
                grad_w[outputs] += np.einsum(
                    "ncijhw,nohw->ocij", patches[batch, channels], dy[batch, outputs]
                )
            for i in range(kh):
                for j in range(kw):
                    rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                    cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                    contribution = np.einsum(
                        "nohw,oc->nchw", dy[:, outputs], scattered[outputs, :, i, j]
                    )
                    if "dx_overlap_assigned" in bugs:
                        grad_xp[:, channels, rows, cols] = (
                            contribution  # BUG: overlapping taps overwrite
                        )
                    else:
                        grad_xp[:, channels, rows, cols] += contribution
        if "flip_kernel" in bugs:
            grad_w = grad_w[:, :, ::-1, ::-1]
        if "dw_mean_over_batch" in bugs:
            grad_w /= n  # BUG: dL/dW sums over the batch
        if "dx_crop_from_origin" in bugs:
            grad_x = grad_xp[:, :, : x.shape[2], : x.shape[3]]  # BUG: forgets the padding offset
        else:
            grad_x = grad_xp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
        grad_b = None
        if b is not None:
            grad_b = (
                dy.mean(axis=(0, 2, 3)) if "db_mean" in bugs else dy.sum(axis=(0, 2, 3))
            )  # BUG: mean
        return (
            np.ascontiguousarray(grad_x, dtype=dtype),
            grad_w if "backward_float32" in bugs else grad_w.astype(dtype),
            None if grad_b is None else grad_b.astype(dtype),
        )

    def pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode):
        (kh, kw), (ph, pw), (dh, dw) = pair(kernel_size), pair(padding), pair(dilation)
        if stride is None:
            stride = (
                1 if "stride_none_means_one" in bugs else kernel_size
            )  # BUG: None is kernel_size
        sh, sw = pair(stride)
        sizes = []
        for size, k, s, p, d in ((x.shape[2], kh, sh, ph, dh), (x.shape[3], kw, sw, pw, dw)):
            span = size + 2 * p - d * (k - 1) - 1
            out = (
                -(-span // s) + 1
                if ceil_mode and "ceil_mode_ignored" not in bugs
                else span // s + 1
            )
            last_window_rule = "ceil_mode_keeps_last_window" not in bugs  # BUG when absent
            if ceil_mode and "ceil_mode_ignored" not in bugs and (out - 1) * s >= size + p:
                out -= last_window_rule
            sizes.append(out)
        return (kh, kw), (sh, sw), (ph, pw), (dh, dw), sizes

    def pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode):
        """Windows (N, C, OH, OW, kh*kw) over x padded with -inf, and which taps are real input."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = pool_geometry(
            x, kernel_size, stride, padding, dilation, ceil_mode
        )
        fill = 0.0 if "zero_padding" in bugs else -np.inf
        extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - x.shape[2] - 2 * ph)
        extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - x.shape[3] - 2 * pw)
        xp = np.pad(
            x.astype(np.float64),
            ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)),
            constant_values=fill,
        )
        real = np.zeros(xp.shape[2:], dtype=bool)
        real[ph : ph + x.shape[2], pw : pw + x.shape[3]] = True
        if "zero_padding" in bugs:
            real[:] = True  # BUG: the zeros of the padding compete for the maximum
        windows, inside = [], []
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                windows.append(xp[:, :, rows, cols])
                inside.append(real[rows, cols])
        layout = (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, xp.shape[2], xp.shape[3])
        return np.stack(windows, axis=-1), np.stack(inside, axis=-1), layout

    def argmax(windows, inside):
        """PyTorch's routing: first strict maximum; NaN wins (the last one); -inf: first real tap."""
        best = np.argmax(inside, axis=-1)  # the first real tap
        best_value = np.full(windows.shape[:-1], -np.inf)
        for tap in range(windows.shape[-1]):
            value = windows[..., tap]
            if "ties_last" in bugs:
                takes = inside[..., tap] & ((value >= best_value) | np.isnan(value))  # BUG: >=
            elif "nan_first" in bugs:
                takes = inside[..., tap] & (
                    (value > best_value) | (np.isnan(value) & ~np.isnan(best_value))
                )  # BUG
            else:
                takes = inside[..., tap] & ((value > best_value) | np.isnan(value))
            if "neginf_to_tap_zero" in bugs:
                best = np.where(
                    tap == 0, 0, best
                )  # BUG: an all -inf window keeps tap 0, even padding
            best = np.where(takes, tap, best)
            best_value = np.where(takes, value, best_value)
        return best, best_value

    def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        x = np.asarray(x)
        if (
            "pool_view_for_unit_kernel" in bugs
            and pair(kernel_size) == (1, 1)
            and pair(padding) == (0, 0)
        ):
            s = pair(kernel_size if stride is None else stride)
            return x[:, :, :: s[0], :: s[1]]  # BUG: a view of the input, not a new array
        windows, inside, _ = pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode)
        if "nan_ignored" in bugs:
            return np.nanmax(np.where(inside, windows, -np.inf), axis=-1).astype(
                x.dtype
            )  # BUG: nanmax
        return argmax(windows, inside)[1].astype(x.dtype)

    def max_pool2d_backward(
        dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
    ):
        dy, x = np.asarray(dy), np.asarray(x)
        dtype = np.float32 if "pool_backward_float32" in bugs else np.result_type(dy, x)  # BUG
        if "nan_to_inf_in_place" in bugs:
            x[np.isnan(x)] = np.inf  # BUG: make NaN win, by writing into the caller's array
        windows, inside, layout = pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode)
        kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, height, width = layout
        if "ties_to_all" in bugs:
            maximum = argmax(windows, inside)[1]
            chosen = (windows == maximum[..., None]) & inside  # BUG: every tied maximum gets dy
        else:
            chosen = np.arange(kh * kw) == argmax(windows, inside)[0][..., None]
        if "index_uint8" in bugs:
            grad = np.zeros((*x.shape[:2], height * width), dtype=dtype)
            rows = (
                np.arange(oh)[:, None, None] * sh + (np.arange(kh * kw) // kw)[None, None, :] * dh
            )
            cols = np.arange(ow)[None, :, None] * sw + (np.arange(kh * kw) % kw)[None, None, :] * dw
            flat = (rows * width + cols).astype(np.uint8)  # BUG: wraps past 255 positions
            for index in np.ndindex(*x.shape[:2]):
                np.add.at(
                    grad[index],
                    flat[chosen[index]],
                    np.broadcast_to(dy[index][..., None], chosen[index].shape)[chosen[index]],
                )
            grad = grad.reshape(*x.shape[:2], height, width)
        else:
            grad = np.zeros((*x.shape[:2], height, width), dtype=dtype)
            for tap in range(kh * kw):
                i, j = divmod(tap, kw)
                rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                if "nan_dy_spread_by_mask" in bugs:
                    routed = chosen[..., tap] * dy  # BUG: 0 * NaN is NaN, 0 * inf is NaN
                else:
                    routed = np.where(chosen[..., tap], dy, 0)
                if "overlap_assigned" in bugs:
                    grad[:, :, rows, cols] = np.where(
                        chosen[..., tap], routed, grad[:, :, rows, cols]
                    )  # BUG: =
                else:
                    grad[:, :, rows, cols] += routed
        return np.ascontiguousarray(grad[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]])

    # float16 and bfloat16 through its float32 path, rounded once (cnnref.precision.through_float32): the
    # convention half-precision kernels follow.
    return SimpleNamespace(
        conv2d=through_float32(conv2d),
        conv2d_backward=through_float32(conv2d_backward),
        max_pool2d=through_float32(max_pool2d),
        max_pool2d_backward=through_float32(max_pool2d_backward),
    )


def hang(*args, **kwargs):
    while True:
        pass


def crash(*args, **kwargs):
    os.abort()
