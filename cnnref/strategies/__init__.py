"""Hypothesis strategies for every op's examples, and the examples themselves.

Each op's case and strategy are in its folder (``cnnref.ops.<op>.cases``) and
are found here by name: ``from cnnref.strategies import ConvCase, conv_cases``.
This package holds what they are made of: size classes, layouts, dtypes, spellings.
"""

import importlib
from typing import TYPE_CHECKING

from ..declarations import FEATURES
from ..ops import OPS
from ..precision import DTYPES
from .cases import DY_VALUES
from .draws import SIZE_CLASSES, SizeClass
from .layouts import LAYOUTS, with_layout

# What __getattr__ below finds in the ops' folders, named for type checkers and editors, which
# read imports rather than the registry.
if TYPE_CHECKING:  # written by scripts/derived.py from the registry
    from ..ops.adaptive_avg_pool2d.cases import (
        AdaptiveAvgPoolCase,
        AdaptivePoolArrays,
        AdaptivePoolCase,
        adaptive_avg_pool_cases,
    )
    from ..ops.adaptive_max_pool2d.cases import AdaptiveMaxPoolCase, adaptive_max_pool_cases
    from ..ops.avg_pool2d.cases import AVG_POOL_DEFAULTS, AvgPoolArrays, AvgPoolCase, avg_pool_cases
    from ..ops.conv2d.cases import CONV_DEFAULTS, ConvArrays, ConvCase, conv_cases
    from ..ops.conv_transpose2d.cases import (
        CONV_TRANSPOSE_DEFAULTS,
        ConvTransposeArrays,
        ConvTransposeCase,
        conv_transpose_cases,
    )
    from ..ops.max_pool2d.cases import (
        POOL_DEFAULTS,
        POOL_VALUES,
        MaxPoolCase,
        PoolArrays,
        PoolCase,
        max_pool_cases,
        pool_cases,
    )


# Hidden from type checkers, which then know exactly the names above and reject any other.
if not TYPE_CHECKING:

    def __getattr__(name: str):
        modules = [importlib.import_module(f"cnnref.ops.{op}.cases") for op in OPS]
        found = [cases for cases in modules if name in cases.__all__]
        if len(found) > 1:  # two ops may not export one name: say so rather than pick one
            raise ImportError(f"{name!r} is exported by {[m.__name__ for m in found]}")
        if found:
            return getattr(found[0], name)
        raise AttributeError(f"module 'cnnref.strategies' has no attribute {name!r}")


__all__ = ["DTYPES", "DY_VALUES", "FEATURES", "LAYOUTS", "SIZE_CLASSES", "SizeClass", "with_layout"]
