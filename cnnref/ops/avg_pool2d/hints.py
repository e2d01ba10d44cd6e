"""Name the bug behind a wrong avg_pool2d or avg_pool2d_backward result (see hints.py).

Most avg_pool2d bugs are a wrong divisor, so most variants here are the
reference under another divisor rule: the kernel area, the other
count_include_pad, no divisor_override.  Each is computed by the reference
itself, through ``divisor_override`` or the flags, so a hint fires only when
the candidate's values are exactly what that mistake gives.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ... import reference
from ...checks.hints import (
    Variant,
    either,
    explain_case,
    nonfinite_spread,
    pool_shape_hints,
    reference_or_none,
)
from .cases import AvgPoolCase
from .geometry import AvgPoolGeometry

KERNEL_AREA = "y matches dividing every window by kh*kw, the kernel's area: {rule}"
KERNEL_AREA_RULE = {
    # count_include_pad=True: what a window covers of the padded input, never past it.
    True: "a window that reaches past the padded input (ceil_mode's last window) divides by its "
    "positions inside the padded input only (count_include_pad=True)",
    False: "a window that reaches into the padding divides by its elements inside x "
    "(count_include_pad=False)",
    "override": "with divisor_override given, every window divides by divisor_override",
}
COUNT_INCLUDE_PAD_FLIPPED = (
    "y matches count_include_pad={other}: with count_include_pad={given} a window divides by {rule}"
)
COUNT_RULE = {
    True: "its positions inside the padded input, padding included",
    False: "its elements inside x only",
}
OVERRIDE_IGNORED = (
    "y matches ignoring divisor_override: when it is given, every window divides by "
    "divisor_override, whatever it covers"
)
BORDER_WINDOWS_ONLY = (
    "only windows that reach into the padding or past the input's edge are wrong: check their "
    "divisor (count_include_pad, ceil_mode's last window)"
)
SHARED_INPUTS_ONLY = (
    "only inputs that several windows read are wrong: each window must ADD its share "
    "dY / divisor (+=), not assign it"
)


def shape_hints(case: AvgPoolCase, actual: np.ndarray) -> list[str]:
    """Which plausible mistake in the output-size rule gives ``actual``'s shape."""
    return pool_shape_hints("avg_pool2d", case, AvgPoolGeometry.from_args(**case.geometry), actual)


def divisor_variants(
    case: AvgPoolCase, compute: Callable[..., np.ndarray | None], output: str = "y"
) -> list[Variant]:
    """The output (``output``: "y" or "dx") under each mistaken divisor rule.

    ``compute(**changes)`` runs the reference with the geometry changed.  Rules that
    give the same values here are one variant, named as alternatives this example
    cannot tell apart.
    """
    kh, kw = case.kernel_size
    mistakes: list[tuple[str, dict[str, Any]]]
    if case.divisor_override is not None:
        mistakes = [
            (OVERRIDE_IGNORED, {"divisor_override": None}),
            (
                KERNEL_AREA.format(rule=KERNEL_AREA_RULE["override"]),
                {"divisor_override": kh * kw},
            ),
        ]
    else:
        other = not case.count_include_pad
        flipped = COUNT_INCLUDE_PAD_FLIPPED.format(
            other=other, given=case.count_include_pad, rule=COUNT_RULE[case.count_include_pad]
        )
        mistakes = [
            (
                KERNEL_AREA.format(rule=KERNEL_AREA_RULE[case.count_include_pad]),
                {"divisor_override": kh * kw},
            ),
            (flipped, {"count_include_pad": other}),
        ]
    groups: list[tuple[list[str], np.ndarray]] = []
    for text, changes in mistakes:
        values = compute(**changes)
        if values is None:
            continue
        text = text.replace("y matches", f"{output} matches", 1)
        same = next((g for g in groups if np.array_equal(g[1], values, equal_nan=True)), None)
        if same is None:
            groups.append(([text], values))
        else:
            same[0].append(text)
    return [(either(texts, "; or equally, "), partial(_same, values)) for texts, values in groups]


def _same(values: np.ndarray) -> np.ndarray:
    return values


def forward_hints(
    case: AvgPoolCase, x: np.ndarray, expected: np.ndarray, actual: np.ndarray, scale, comparison
) -> list[str]:
    """Hints for a wrong avg_pool2d output: a mistaken divisor rule, else where the errors are."""

    def compute(**changes):
        return reference_or_none("avg_pool2d", x, **(case.geometry | changes))

    regions = []
    border = _border_windows(case)
    if border.any() and not border.all():
        regions.append((BORDER_WINDOWS_ONLY, border))
    spread = nonfinite_spread(expected, actual, x, "y", "x")
    variants = divisor_variants(case, compute)
    return spread + explain_case(
        case, comparison, actual, expected, scale, variants=variants, regions=regions
    )


def backward_variants(case: AvgPoolCase, x: np.ndarray, dy: np.ndarray) -> list[Variant]:
    """What a wrong dx may match: the same divisor mistakes (``pool_backward_hints`` adds
    overlaps assigned instead of added, ``SHARED_INPUTS_ONLY``)."""

    def compute(**changes):
        try:
            return reference.avg_pool2d_backward(dy, x, **(case.geometry | changes))
        except ValueError:
            return None

    return divisor_variants(case, compute, output="dx")


def reads_per_input(case: AvgPoolCase) -> np.ndarray:
    """(H, W): how many windows read each input element (the backward of all-ones dy, each
    window's divisor 1)."""
    ones = np.ones((1, 1, *case.y_shape[2:]))
    counting = case.geometry | {"divisor_override": 1}
    return reference.avg_pool2d_backward(
        ones, np.zeros((1, 1, case.height, case.width)), **counting
    )[0, 0]


def _border_windows(case: AvgPoolCase) -> np.ndarray:
    """(OH, OW): windows that do not lie wholly inside x (they read padding or hang past it)."""
    ones = np.ones((1, 1, case.height, case.width))
    inside = reference.avg_pool2d(ones, **(case.geometry | {"divisor_override": 1}))[0, 0]
    return inside < case.kernel_size[0] * case.kernel_size[1]
