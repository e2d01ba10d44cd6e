"""Single-channel forward cases against ``scipy.signal.correlate2d``, which knows nothing of cnnref."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

import cnnref
from cnnref.checks.compare import FLOAT64_RTOL, assert_close
from cnnref.ops.conv2d import scipy_oracle as scipy_correlate
from cnnref.ops.conv2d.scales import conv2d_scale


@pytest.mark.parametrize(
    ("image_shape", "kernel_shape"),
    [
        ((3, 3), (2, 2)),
        ((5, 7), (3, 3)),
        ((6, 6), (1, 1)),
        ((4, 9), (4, 2)),
        ((8, 5), (3, 5)),
        ((1, 1), (1, 1)),
    ],
)
def test_single_channel_forward_is_valid_correlate2d(image_shape, kernel_shape) -> None:
    rng = np.random.default_rng(image_shape[0] * 31 + kernel_shape[1])
    image, kernel = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)

    y = cnnref.conv2d(image[None, None], kernel[None, None])[0, 0]

    expected = signal.correlate2d(image, kernel, mode="valid")
    assert_close(
        y,
        expected,
        scale=signal.correlate2d(abs(image), abs(kernel), mode="valid"),
        rtol=FLOAT64_RTOL,
        name="y",
    )


@pytest.mark.parametrize(
    "geometry",
    [
        {"stride": (2, 1)},
        {"padding": (1, 2)},
        {"dilation": (2, 1)},
        {"groups": 2},
        {"stride": 2, "padding": 1, "dilation": 2, "groups": 2},
    ],
    ids=str,
)
def test_multichannel_forward_matches_scipy_oracle(geometry: dict) -> None:
    rng = np.random.default_rng(7)
    x, w, b = (
        rng.standard_normal((2, 4, 9, 8)),
        rng.standard_normal((6, 4 // geometry.get("groups", 1), 3, 2)),
        rng.standard_normal(6),
    )

    y = cnnref.conv2d(x, w, b, **geometry)

    expected = scipy_correlate.conv2d_forward(x, w, b, **geometry)
    assert_close(y, expected, scale=conv2d_scale(x, w, b, **geometry), rtol=FLOAT64_RTOL, name="y")
