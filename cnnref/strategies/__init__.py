"""Hypothesis strategies for conv2d and max_pool2d examples, and the examples themselves."""

from ..declarations import FEATURES
from .cases import DTYPES, DY_VALUES, POOL_VALUES, ConvArrays, ConvCase, PoolArrays, PoolCase
from .geometries import SIZE_CLASSES, conv_cases, describe_coverage, pool_cases
from .layouts import LAYOUTS, with_layout

__all__ = [
    "DTYPES",
    "DY_VALUES",
    "FEATURES",
    "LAYOUTS",
    "POOL_VALUES",
    "SIZE_CLASSES",
    "ConvArrays",
    "ConvCase",
    "PoolArrays",
    "PoolCase",
    "conv_cases",
    "describe_coverage",
    "pool_cases",
    "with_layout",
]
