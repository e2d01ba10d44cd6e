"""conv2d's forward from ``scipy.signal.correlate``: an oracle written without the reference.

SciPy correlates (directly: its FFT method's rounding error is relative to the
whole image, not to each element) one (C, H, W) image with one (C, kh, kw) kernel; padding,
dilation (zeros inserted into the kernel), stride (subsampling the dense
result) and groups (channel blocks) are applied around it, one image and
one output channel at a time.
"""

from __future__ import annotations

import numpy as np

from .geometry import ConvGeometry


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    from scipy import signal  # a second or so to import: only in runs that use this oracle

    geometry = ConvGeometry.from_args(stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw) = geometry.stride, geometry.padding, geometry.dilation
    x = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_channels, per_group, kh, kw = w.shape
    dilated = np.zeros((out_channels, per_group, (kh - 1) * dh + 1, (kw - 1) * dw + 1))
    dilated[:, :, ::dh, ::dw] = w
    outputs_per_group = out_channels // groups

    images = []
    for image in x:
        channels = []
        for o, kernel in enumerate(dilated):
            g = o // outputs_per_group
            block = image[g * per_group : (g + 1) * per_group]
            dense = signal.correlate(block, kernel, mode="valid", method="direct")[0]
            channels.append(dense[::sh, ::sw])
        images.append(channels)
    y = np.array(images).reshape(
        x.shape[0], out_channels, *_output_size(x, dilated, geometry.stride)
    )
    return y if b is None else y + np.asarray(b, dtype=np.float64)[:, None, None]


def _output_size(
    x_padded: np.ndarray, kernel: np.ndarray, stride: tuple[int, int]
) -> tuple[int, int]:
    return tuple(
        (size - k) // s + 1 for size, k, s in zip(x_padded.shape[-2:], kernel.shape[-2:], stride)
    )
