"""Hints that suggest a declaration, shown only once the declaration is seen to hold.

A hint such as "y matches pooling over a zero-padded input ... declare
CNNREF_CONVENTIONS = {'pad_value': 'zeros'}" is a ``Suggestion``: what was
seen, and a remedy.  Before a failure is reported, ``confirmed`` re-judges
the failing example under the suggested declaration (the failing property
and the reference properties of both functions of the op), and a few small
examples drawn under it; only if all of them pass is the remedy shown.
Otherwise the hint says what was seen, and why the declaration would not
help, without a remedy: a hint must never send the user the wrong way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from ..declarations import (
    CONVENTION_FUNCTIONS,
    FEATURES,
    NAMES_TABLE,
    NOTHING_DECLARED,
    Declarations,
)
from .base import Candidate, CandidateRaised, Evidence, Falsified, NotChecked, Property

# Small examples drawn under a suggested declaration, besides the failing one.
SMALL_EXAMPLES = 12


class Suggestion(str):
    """A hint: ``seen``, then a remedy that declares ``conventions`` (name -> value)."""

    seen: str
    conventions: dict[str, str]

    def __new__(cls, seen: str, remedy: str, conventions: dict[str, str]) -> Suggestion:
        hint = super().__new__(cls, f"{seen}; {remedy}")
        hint.seen = seen
        hint.conventions = dict(conventions)
        return hint


def declaring(conventions: dict[str, str]) -> str:
    """The remedy: the declaration that makes ``conventions`` checked."""
    return f"if that is on purpose, declare CNNREF_CONVENTIONS = {conventions!r}"


class _Declared:
    """``candidate`` as if it declared ``declarations``: every call goes to the candidate."""

    def __init__(self, candidate: Candidate, declarations: Declarations) -> None:
        self._candidate = candidate
        self.declarations = declarations

    def __getattr__(self, name: str) -> Any:
        return getattr(self._candidate, name)


def with_conventions(declarations: Declarations, conventions: dict[str, str]) -> Declarations:
    """``declarations`` with ``conventions`` declared for every function they concern."""
    chosen = dict(declarations.conventions)
    for name, value in conventions.items():
        for function in CONVENTION_FUNCTIONS[name]:
            chosen[function] = replace(declarations.conventions_for(function), **{name: value})
    return Declarations(declarations.unsupported, chosen)


def confirmed(
    hints: Sequence[str], candidate: Candidate, prop: Property, case: object
) -> list[str]:
    """``hints``, each ``Suggestion`` kept only where its declaration holds (module docstring):
    ``prop`` and the ``matches_reference`` of the op's functions the candidate has pass on
    ``case`` and on small examples drawn under it."""
    result = []
    for hint in hints:
        if not isinstance(hint, Suggestion):
            result.append(hint)
            continue
        declared = getattr(candidate, "declarations", NOTHING_DECLARED)
        subject = _Declared(candidate, with_conventions(declared, hint.conventions))
        failed = _fails_under(subject, prop, case)
        if failed is None:
            result.append(str(hint))
        else:
            declaration = ", ".join(f"{k}={v!r}" for k, v in hint.conventions.items())
            result.append(f"{hint.seen} (but declaring {declaration} would not pass: {failed})")
    return result


def _judged(subject: _Declared, prop: Property) -> list[Property]:
    """``prop``, and the reference properties of its op's functions that ``subject`` has."""
    from . import PROPERTIES

    op = prop.function.removesuffix("_backward")
    names = (f"{op}.matches_reference", f"{op}_backward.matches_reference")
    return [prop] + [
        p for p in PROPERTIES if p.name in names and p is not prop and subject.has(p.function)
    ]


def _fails_under(subject: _Declared, prop: Property, case: object) -> str | None:
    """What fails under ``subject``'s declarations, or None where everything re-judged passes."""
    judged = _judged(subject, prop)
    for judge in judged:
        if _fails(judge, subject, case):
            return f"{judge.name} fails on this example"
    for judge in judged:
        small = _small_failure(judge, subject, getattr(case, "dtype", None))
        if small is not None:
            return f"{judge.name} fails on {small!r}"
    return None


def _fails(prop: Property, subject: _Declared, case: object) -> bool:
    try:
        prop.check(subject, case, _Discarded())
    except NotChecked:
        return False
    except (Falsified, CandidateRaised):
        return True
    except Exception:  # the candidate's process failed: nothing is confirmed
        return True
    return False


class _Discarded(Evidence):
    """Evidence that is not kept: a re-judgement only asks pass or fail."""

    def require(self, comparison, hints=None, inputs=None) -> None:
        if not comparison.passed:
            raise Falsified(comparison.describe())


def _small_failure(prop: Property, subject: _Declared, dtype: str | None) -> object | None:
    """A small example, drawn under ``subject``'s declarations, that ``prop`` fails; or None."""
    from ..strategies import SIZE_CLASSES

    small = tuple(size for size in SIZE_CLASSES if size.name == "small")
    declarations = subject.declarations
    windows = declarations.conventions_for(prop.function).windows
    unsupported = declarations.unsupported_for(prop.function, *prop.calls)
    failures: list[object] = []

    @settings(
        max_examples=SMALL_EXAMPLES,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=prop.cases(dtype, unsupported, windows, sizes=small))
    def search(case: object) -> None:
        if not failures and _fails(prop, subject, case):
            failures.append(case)

    search()
    return failures[0] if failures else None


def features_used(case: object, function: str) -> list[str]:
    """The declarable features a shrunk failing ``case`` kept (settings away from their
    defaults, values, dtype, layout, spelling), each one ``function`` has."""
    from ..declarations import functions_with

    def away(name: str, default: object) -> bool:
        value = getattr(case, name, default)
        return value is not None and value != default

    pool = function.removesuffix("_backward") in ("max_pool2d", "avg_pool2d")
    stride = getattr(case, "stride", None)
    kernel_size = getattr(case, "kernel_size", None)
    used = {
        "stride": stride is not None
        and tuple(stride) != ((1, 1) if not pool else tuple(kernel_size or ())),
        "pool_padding" if pool else "conv_padding": away("padding", (0, 0)),
        "dilation": away("dilation", (1, 1)),
        "groups": away("groups", 1),
        "output_padding": away("output_padding", (0, 0)),
        "ceil_mode": away("ceil_mode", False),
        "count_include_pad": getattr(case, "count_include_pad", True) is False,
        "divisor_override": away("divisor_override", None),
        "nan": getattr(case, "values", "") == "nan",
        "inf": getattr(case, "values", "") == "neginf",
        "nonfinite_x": away("x_values", "finite"),
        "float32": getattr(case, "dtype", "") == "float32",
        "non_contiguous": away("layout", "contiguous"),
        "int_arguments": bool(getattr(case, "as_int", ())),
        "omitted_arguments": bool(getattr(case, "omitted", ())),
        "nonfinite_dy": away("dy_values", "finite"),
    }
    return [name for name, on in used.items() if on and function in functions_with(name)]


def feature_suggestions(candidate: Candidate, prop: Property, case: object) -> list[str]:
    """For each feature the failing ``case`` kept: if the candidate lacks it on purpose, the
    declaration that turns it off; given only where small examples drawn without it pass."""
    declared = getattr(candidate, "declarations", NOTHING_DECLARED)
    found = []
    for feature in features_used(case, prop.function):
        subject = _Declared(candidate, declared.also_unsupported({feature}))
        dtype = getattr(case, "dtype", None)
        if any(_small_failure(p, subject, dtype) for p in _judged(subject, prop)):
            continue
        found.append(
            f"the example needs {feature} ({FEATURES[feature]}): if {prop.function} does not "
            f"support it on purpose, declare CNNREF_UNSUPPORTED = {{{feature!r}}} (small "
            f"examples without it pass; every name: {NAMES_TABLE})"
        )
    return found
