"""A from-scratch adaptive_avg_pool2d and adaptive_max_pool2d with their gradients, as a course
or framework author writes them.

It shares no code with cnnref: it computes each window's bounds as PyTorch's
C loop does (``start_index`` and ``end_index``, integer arithmetic) and slices
x per window.  ``build()`` returns it correct; ``build("bug")`` returns it
with a realistic bug switched on, a one-line departure marked ``# BUG``.
``BUGS`` names each, with the op it breaks and what it does.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnref.precision import through_float32

AVG, MAX = "adaptive_avg_pool", "adaptive_max_pool"
BUGS = {
    "end_floor": (AVG, "a window ends at floor((i + 1) * H / O), not ceil: no overlaps"),
    "start_ceil": (AVG, "a window starts at ceil(i * H / O), not floor: no overlaps"),
    "fixed_windows": (AVG, "windows of H // O elements, H // O apart (avg_pool2d's windows)"),
    "export_formula": (
        AVG,
        "stride H // O and kernel H - (O - 1) * (H // O) for every cell, as some exporters write",
    ),
    "divisor_largest_window": (
        AVG,
        "every window divides by ceil(H / O) * ceil(W / O), the largest window's area",
    ),
    "none_as_other_side": (AVG, "None in output_size takes the other side's size"),
    "backward_overlap_assigned": (
        AVG,
        "the backward assigns each cell's share where windows overlap instead of adding",
    ),
    "backward_end_floor": (AVG, "the backward's windows end at floor((i + 1) * H / O)"),
    "max_end_floor": (MAX, "a max window ends at floor((i + 1) * H / O), not ceil"),
    "nan_skipped": (
        MAX,
        "the scan has no NaN test: NaN never takes over (a window's maximum skips NaN)",
    ),
    "ties_last": (MAX, "the scan takes over on >=, so a tie goes to the last maximum"),
    "nan_first": (MAX, "np.argmax selects each window's element: the first NaN, not the last"),
    "mask_all_ties": (MAX, "the backward gives dY to every element equal to the window's maximum"),
    "backward_fancy_add": (
        MAX,
        "the backward adds through a fancy index (dx[idx] += dy): overlapping windows that select "
        "one element keep one dY",
    ),
}


def build(*bugs: str) -> SimpleNamespace:
    unknown = set(bugs) - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bugs {sorted(unknown)}; known: {sorted(BUGS)}")
    on = frozenset(bugs)

    def sizes(x_shape, output_size, backward=False):
        oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
        if "none_as_other_side" in on:
            oh, ow = (ow if oh is None else oh), (oh if ow is None else ow)  # BUG
        return (x_shape[2] if oh is None else oh), (x_shape[3] if ow is None else ow)

    def bounds(i, out, size, floor_end, backward=False):
        start = (i * size) // out
        end = ((i + 1) * size + out - 1) // out
        if floor_end or ("backward_end_floor" in on and backward):
            end = ((i + 1) * size) // out  # BUG
        if "start_ceil" in on:
            start = (i * size + out - 1) // out  # BUG
        if "fixed_windows" in on:
            start, end = i * (size // out), (i + 1) * (size // out)  # BUG
        if "export_formula" in on:
            stride = size // out  # BUG
            start, end = i * stride, i * stride + size - (out - 1) * stride
        return start, end

    def avg_windows(x_shape, output_size, backward=False):
        height, width = x_shape[2:]
        oh, ow = sizes(x_shape, output_size)
        for i in range(oh):
            h0, h1 = bounds(i, oh, height, "end_floor" in on, backward)
            for j in range(ow):
                w0, w1 = bounds(j, ow, width, "end_floor" in on, backward)
                count = (h1 - h0) * (w1 - w0)
                if "divisor_largest_window" in on:
                    count = -(-height // oh) * -(-width // ow)  # BUG
                yield i, j, slice(h0, h1), slice(w0, w1), count

    def adaptive_avg_pool2d(x, output_size):
        x = np.asarray(x)
        y = np.zeros((*x.shape[:2], *sizes(x.shape, output_size)), dtype=x.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            for i, j, rows, cols, count in avg_windows(x.shape, output_size):
                y[:, :, i, j] = x[:, :, rows, cols].sum(axis=(2, 3)) / count
        return y

    def adaptive_avg_pool2d_backward(dy, x, output_size):
        dy, x = np.asarray(dy), np.asarray(x)
        dx = np.zeros(x.shape, dtype=np.result_type(dy, x))
        with np.errstate(invalid="ignore", over="ignore"):
            for i, j, rows, cols, count in avg_windows(x.shape, output_size, backward=True):
                share = (dy[:, :, i, j] / count)[:, :, None, None]
                if "backward_overlap_assigned" in on:
                    dx[:, :, rows, cols] = share  # BUG: overlapping windows overwrite
                else:
                    dx[:, :, rows, cols] += share
        return dx

    def selections(x, output_size):
        """(i, j, flat index in the plane) of each cell's maximum, and the maxima."""
        height, width = x.shape[2:]
        oh, ow = sizes(x.shape, output_size)
        y = np.empty((*x.shape[:2], oh, ow), dtype=x.dtype)
        index = np.empty(y.shape, dtype=np.int64)
        for n, c, i, j in np.ndindex(*y.shape):
            h0, h1 = bounds(i, oh, height, "max_end_floor" in on)
            w0, w1 = bounds(j, ow, width, "max_end_floor" in on)
            if "nan_first" in on:
                block = x[n, c, h0:h1, w0:w1]
                k = int(np.argmax(block))  # BUG: the first NaN
                best = (h0 + k // (w1 - w0)) * width + w0 + k % (w1 - w0)
            else:
                best, value = h0 * width + w0, -np.inf
                for u in range(h0, h1):
                    for v in range(w0, w1):
                        val = x[n, c, u, v]
                        if "ties_last" in on:
                            takes = val >= value or np.isnan(val)  # BUG: >=
                        elif "nan_skipped" in on:
                            takes = val > value  # BUG: no NaN test
                        else:
                            takes = val > value or np.isnan(val)
                        if takes:
                            best, value = u * width + v, val
            index[n, c, i, j] = best
            y[n, c, i, j] = x[n, c, best // width, best % width]
        return y, index

    def adaptive_max_pool2d(x, output_size):
        return selections(np.asarray(x), output_size)[0]

    def adaptive_max_pool2d_backward(dy, x, output_size):
        dy, x = np.asarray(dy), np.asarray(x)
        y, index = selections(x, output_size)
        dx = np.zeros(x.shape, dtype=np.result_type(dy, x))
        planes = dx.reshape(*x.shape[:2], -1)
        with np.errstate(invalid="ignore"):
            for n, c in np.ndindex(*x.shape[:2]):
                if "backward_fancy_add" in on:
                    planes[n, c, index[n, c].ravel()] += dy[n, c].ravel()  # BUG: duplicates
                    continue
                for (i, j), k in np.ndenumerate(index[n, c]):
                    if "mask_all_ties" in on:
                        h0, h1 = bounds(i, y.shape[2], x.shape[2], False)
                        w0, w1 = bounds(j, y.shape[3], x.shape[3], False)
                        block = x[n, c, h0:h1, w0:w1]
                        ties = block == y[n, c, i, j]  # BUG: all of them, and no NaN
                        dx[n, c, h0:h1, w0:w1] += np.where(ties, dy[n, c, i, j], 0)
                    else:
                        planes[n, c, k] += dy[n, c, i, j]
        return dx

    # float16 and bfloat16 through its float32 path, rounded once (cnnref.precision.through_float32).
    return SimpleNamespace(
        adaptive_avg_pool2d=through_float32(adaptive_avg_pool2d),
        adaptive_avg_pool2d_backward=through_float32(adaptive_avg_pool2d_backward),
        adaptive_max_pool2d=through_float32(adaptive_max_pool2d),
        adaptive_max_pool2d_backward=through_float32(adaptive_max_pool2d_backward),
    )


# --impl targets: tests.candidates.adaptive_pool2d_student:correct, or :<bug> for each of BUGS.
correct = build()
globals().update({name: build(name) for name in BUGS})
