"""A from-scratch avg_pool2d and its gradient, as a course or framework author writes one.

It shares no code with cnnref: it walks the windows as PyTorch's C loop does
(clip each window to the padded input for the count, then to the input for
the sum) and slices x per window.  ``build()`` returns it correct;
``build("bug", ...)`` returns it with realistic bugs switched on, each a
one-line departure marked ``# BUG``.  ``BUGS`` names and describes them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnref.precision import through_float32

BUGS = {
    "divisor_kernel_area": "every window divides by kh*kw (mean of a zero-padded window), "
    "whatever count_include_pad and ceil_mode's overhang say",
    "count_include_pad_ignored": "every window divides by its elements inside x, "
    "as if count_include_pad were False",
    "overhang_counted": "with count_include_pad, ceil_mode's last window also counts "
    "the positions past the padded edge",
    "divisor_override_ignored": "divisor_override is accepted and never used",
    "stride_none_means_one": "stride=None slides the window by 1, not by kernel_size",
    "ceil_mode_ignored": "the output size always rounds down",
    "ceil_mode_keeps_last_window": "ceil_mode keeps a last window that starts in the right "
    "padding (PyTorch drops it)",
    "backward_kernel_area": "the backward divides dY by kh*kw, not by each window's divisor",
    "backward_overlap_assigned": "the backward assigns dY / divisor where windows overlap "
    "instead of adding",
}


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def build(*bugs: str) -> SimpleNamespace:
    unknown = set(bugs) - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bugs {sorted(unknown)}; known: {sorted(BUGS)}")
    bugs = frozenset(bugs)

    def output_size(n, k, s, p, ceil_mode):
        if ceil_mode and "ceil_mode_ignored" not in bugs:  # BUG when ignored: always floor
            out = -(-(n + 2 * p - k) // s) + 1
            if (out - 1) * s >= n + p and "ceil_mode_keeps_last_window" not in bugs:  # BUG
                out -= 1
            return out
        return (n + 2 * p - k) // s + 1

    def windows(x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, override):
        """Yield (oh, ow, rows, cols, divisor) for every window: the slices of x it sums."""
        (kh, kw), (ph, pw) = pair(kernel_size), pair(padding)
        if stride is None:
            stride = 1 if "stride_none_means_one" in bugs else kernel_size  # BUG when one
        sh, sw = pair(stride)
        height, width = x_shape[2:]
        out_h = output_size(height, kh, sh, ph, ceil_mode)
        out_w = output_size(width, kw, sw, pw, ceil_mode)
        for oh in range(out_h):
            for ow in range(out_w):
                h0, w0 = oh * sh - ph, ow * sw - pw
                if "overhang_counted" in bugs:
                    h1, w1 = h0 + kh, w0 + kw  # BUG: forgets the padded edge
                else:
                    h1, w1 = min(h0 + kh, height + ph), min(w0 + kw, width + pw)
                pool_size = (h1 - h0) * (w1 - w0)
                h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, height), min(w1, width)
                if override is not None and "divisor_override_ignored" not in bugs:  # BUG
                    divisor = override
                elif "divisor_kernel_area" in bugs:
                    divisor = kh * kw  # BUG
                elif count_include_pad and "count_include_pad_ignored" not in bugs:  # BUG
                    divisor = pool_size
                else:
                    divisor = (h1 - h0) * (w1 - w0)
                yield oh, ow, slice(h0, h1), slice(w0, w1), divisor

    def avg_pool2d(
        x,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        x = np.asarray(x)
        args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        found = list(windows(x.shape, *args))
        out_h, out_w = found[-1][0] + 1, found[-1][1] + 1
        y = np.zeros((*x.shape[:2], out_h, out_w), dtype=x.dtype)
        for oh, ow, rows, cols, divisor in found:
            y[:, :, oh, ow] = x[:, :, rows, cols].sum(axis=(2, 3)) / divisor
        return y

    def avg_pool2d_backward(
        dy,
        x,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        dy, x = np.asarray(dy), np.asarray(x)
        grad = np.zeros(x.shape, dtype=np.result_type(dy, x))
        args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        for oh, ow, rows, cols, divisor in windows(x.shape, *args):
            if "backward_kernel_area" in bugs:
                divisor = pair(kernel_size)[0] * pair(kernel_size)[1]  # BUG
            share = (dy[:, :, oh, ow] / divisor)[:, :, None, None]
            if "backward_overlap_assigned" in bugs:
                grad[:, :, rows, cols] = share  # BUG: overlapping windows overwrite
            else:
                grad[:, :, rows, cols] += share
        return grad

    # float16 and bfloat16 through its float32 path, rounded once (cnnref.precision.through_float32): the
    # convention half-precision kernels follow.
    return SimpleNamespace(
        avg_pool2d=through_float32(avg_pool2d),
        avg_pool2d_backward=through_float32(avg_pool2d_backward),
    )


# --impl targets: tests.candidates.avg_pool2d_student:correct, or :<bug> for each of BUGS.
correct = build()
globals().update({name: build(name) for name in BUGS})
