"""The summary's grouped lines: the ops a candidate does not expose, one line each, and what
was not drawn for which functions."""

from __future__ import annotations

from collections.abc import Sequence

from ..results import PropertyResult, Status

NOT_DRAWN = "not drawn (declared unsupported): "


def unexposed(properties: Sequence[PropertyResult]) -> set[str]:
    """The properties not covered because the candidate lacks their function."""
    return {
        p.name
        for p in properties
        if p.status == Status.NOT_COVERED
        and any(f"does not expose {p.function}" in reason for reason in p.not_covered)
    }


def unexposed_lines(properties: Sequence[PropertyResult]) -> list[str]:
    """One line per op: which of its functions the candidate does not expose, and how many
    properties that leaves not covered."""
    missing = unexposed(properties)
    per_op: dict[str, dict[str, int]] = {}
    who = ""
    for p in properties:
        if p.name in missing:
            who = next(r for r in p.not_covered if " does not expose " in r).split(" does not")[0]
            functions = per_op.setdefault(p.function.removesuffix("_backward"), {})
            functions[p.function] = functions.get(p.function, 0) + 1
    return [
        f"{who} does not expose {', '.join(functions)}: "
        f"{sum(functions.values())} properties of {op} not covered"
        for op, functions in per_op.items()
    ]


def not_drawn_lines(properties: Sequence[PropertyResult]) -> list[str]:
    """``not drawn (declared unsupported): dilation, groups in conv2d, conv2d_backward; ...``:
    each set of features with the functions it applies to."""
    features: dict[str, list[str]] = {}
    for p in properties:
        for reason in p.not_covered:
            if reason.startswith(NOT_DRAWN):
                feature = reason.removeprefix(NOT_DRAWN)
                if p.function not in features.setdefault(feature, []):
                    features[feature].append(p.function)
    by_functions: dict[tuple[str, ...], list[str]] = {}
    for feature, functions in features.items():
        by_functions.setdefault(tuple(functions), []).append(feature)
    if not by_functions:
        return []
    parts = [
        f"{', '.join(sorted(names))} in {', '.join(functions)}"
        for functions, names in by_functions.items()
    ]
    return [NOT_DRAWN + "; ".join(parts)]
