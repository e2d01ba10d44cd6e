"""Example geometries for the reference's regression tables (against PyTorch, and the fast
path against the literal form)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ConvExample(NamedTuple):
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    bias: bool
    geometry: dict


CONV_EXAMPLES = {
    "plain 3x3": ConvExample((2, 3, 8, 8), (4, 3, 3, 3), True, {}),
    "tuple stride": ConvExample((2, 2, 11, 9), (3, 2, 3, 3), True, {"stride": (2, 3)}),
    "asymmetric padding": ConvExample((1, 2, 6, 7), (2, 2, 3, 2), False, {"padding": (2, 0)}),
    "padding wider than kernel": ConvExample((1, 1, 4, 4), (1, 1, 2, 2), True, {"padding": 3}),
    "dilation": ConvExample((2, 2, 12, 10), (3, 2, 3, 3), True, {"dilation": (2, 3)}),
    "stride, padding and dilation": ConvExample(
        (2, 3, 13, 11),
        (2, 3, 3, 2),
        True,
        {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 2)},
    ),
    "groups": ConvExample((2, 6, 7, 7), (4, 3, 3, 3), True, {"groups": 2}),
    "depthwise": ConvExample((2, 4, 7, 6), (8, 1, 3, 3), True, {"groups": 4, "padding": 1}),
    "1x1 kernel": ConvExample((3, 5, 6, 4), (7, 5, 1, 1), True, {}),
    "1x1 kernel with stride": ConvExample((2, 3, 7, 7), (2, 3, 1, 1), False, {"stride": 3}),
    "kernel equals input": ConvExample((2, 3, 5, 4), (2, 3, 5, 4), True, {}),
    "1x1 input": ConvExample((4, 2, 1, 1), (3, 2, 1, 1), True, {}),
    "stride larger than kernel": ConvExample((2, 2, 10, 10), (2, 2, 2, 2), True, {"stride": 4}),
    "stride leaves trailing rows unread": ConvExample(
        (1, 1, 8, 9), (1, 1, 3, 3), True, {"stride": 3}
    ),
    "batch above 32": ConvExample((33, 2, 5, 5), (3, 2, 3, 3), True, {"padding": 1}),
    "wide and short": ConvExample((1, 1, 2, 41), (2, 1, 2, 5), True, {"stride": (1, 4)}),
}


class PoolExample(NamedTuple):
    x_shape: tuple[int, ...]
    values: str
    geometry: dict


POOL_EXAMPLES = {
    "2x2": PoolExample((2, 3, 8, 8), "normal", {"kernel_size": 2}),
    "stride None means kernel_size": PoolExample((1, 2, 9, 7), "normal", {"kernel_size": (3, 2)}),
    "overlapping windows": PoolExample((2, 2, 7, 7), "normal", {"kernel_size": 3, "stride": 1}),
    "tuple stride and padding": PoolExample(
        (2, 2, 9, 8), "normal", {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}
    ),
    "dilation": PoolExample((1, 2, 10, 9), "normal", {"kernel_size": 2, "dilation": (2, 3)}),
    "ceil_mode": PoolExample((2, 1, 5, 7), "normal", {"kernel_size": 2, "ceil_mode": True}),
    "ceil_mode with padding": PoolExample(
        (1, 2, 6, 6), "normal", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    ),
    "kernel equals input": PoolExample((2, 2, 4, 5), "normal", {"kernel_size": (4, 5)}),
    "ties": PoolExample((2, 2, 8, 8), "ties", {"kernel_size": 3, "stride": 2, "padding": 1}),
    "ties with overlap": PoolExample((1, 2, 6, 6), "ties", {"kernel_size": 2, "stride": 1}),
    "NaN": PoolExample((2, 2, 8, 8), "nan", {"kernel_size": 2, "stride": 1}),
    "-inf": PoolExample((2, 2, 8, 8), "neginf", {"kernel_size": 2, "padding": 1}),
    "all -inf with padding": PoolExample(
        (1, 1, 4, 4), "all-neginf", {"kernel_size": 3, "padding": 1}
    ),
    "all equal": PoolExample((1, 2, 5, 5), "zeros", {"kernel_size": 3, "stride": 1, "padding": 1}),
}


def pool_input(shape: tuple[int, ...], values: str, rng: np.random.Generator) -> np.ndarray:
    if values == "normal":
        return rng.standard_normal(shape)
    if values == "zeros":
        return np.zeros(shape)
    if values == "all-neginf":
        return np.full(shape, -np.inf)
    if values == "signed-zeros":
        return rng.choice([0.0, -0.0, -1.0], size=shape)
    x = rng.integers(-2, 3, shape).astype(np.float64)  # many ties
    special = rng.random(shape) < 0.2
    if values == "nan":
        x[special] = np.nan
    if values == "neginf":
        x[special] = -np.inf
    return x
