"""What a property is, how it calls a candidate, and how it reports a verdict.

A property checks one function of a candidate on one example (a case).  It
runs in the verifier's process, calls the candidate through ``Candidate``
(a request to the candidate's own process, unless isolation is off), and
either returns normally, having recorded every comparison it made, raises
``Falsified`` with an explanation a person can act on, or raises
``NotChecked`` when the example cannot judge this function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from hypothesis import strategies as st

from ..ops import FUNCTIONS
from ..precision import is_half
from ..sandbox.wire import Foreign
from .compare import Comparison, describe_inputs


class Falsified(Exception):
    """The property does not hold on this example."""

    def __init__(self, message: str, hints: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hints = tuple(hints)


class NotChecked(Exception):
    """This example cannot judge the function (for example, its own forward is wrong here)."""


class CandidateRaised(Exception):
    """The candidate raised instead of returning."""

    def __init__(self, function: str, error_type: str, message: str, traceback_text: str) -> None:
        super().__init__(f"{function} raised {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.traceback_text = traceback_text


class Candidate(Protocol):
    """The functions of the implementation under test, as a property sees them.

    A candidate may also carry ``declarations`` (``cnnref.declarations.Declarations``):
    the pool properties read the conventions to check from it, PyTorch's where it has none.
    """

    def has(self, function: str) -> bool: ...

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any: ...

    def call_many(self, function: str, calls: Sequence[tuple[Sequence, dict]]) -> list:
        """``call`` for each (args, kwargs), in order: the same calls, sent together."""

    def call_watched(self, function: str, args: Sequence, kwargs: dict) -> Any:
        """``call``, also saying which outputs share memory with which arguments (``Watched``)."""


def type_name(value: Any) -> str:
    """The type of what a candidate returned (as the candidate's process described it)."""
    return value.type_name if isinstance(value, Foreign) else type(value).__name__


Hints = Callable[[Comparison], list[str]]


def no_hints(comparison: Comparison) -> list[str]:
    return []


@dataclass
class Evidence:
    """The comparisons one example made; the worst of them goes in the report."""

    comparisons: list[Comparison] = field(default_factory=list)

    def require(
        self, comparison: Comparison, hints: Hints = no_hints, inputs: dict | None = None
    ) -> None:
        """Record ``comparison``; raise Falsified, with hints, if it failed.

        ``inputs`` are printed with the failure when they are small enough to read.
        """
        self.comparisons.append(comparison)
        if not comparison.passed:
            shown = describe_inputs(inputs or {})
            message = comparison.describe() + (f"\n{shown}" if shown else "")
            raise Falsified(message, hints(comparison))

    def worst(self) -> Comparison | None:
        """The comparison that came closest to (or went furthest past) its tolerance."""
        return max(
            self.comparisons,
            key=lambda c: c.ratio,
            default=None,
        )


Check = Callable[[Candidate, Any, Evidence], None]

# Claims that relate two or more of the candidate's rounded results (a difference of two
# forwards, an inner product of outputs).  In a half format each result carries its own
# rounding, half an ulp of the format at its magnitude, and the identity compares those
# roundings rather than the gradient; the half path's values are judged, one rounding each,
# by matches_reference and matches_torch (docs/tolerances.md, "Half precision").
IDENTITY_CLAIMS = (
    "bias_linearity",
    "finite_differences",
    "adjointness",
    "conservation_and_support",
)


def not_checked_in_half(claim_name: str, check: Check) -> Check:
    """``check``, reporting a half-format example of an identity claim as not checked."""
    if claim_name not in IDENTITY_CLAIMS:
        return check

    def checked(candidate: Candidate, case: Any, evidence: Evidence) -> None:
        if is_half(case.dtype):
            raise NotChecked(
                f"not checked in {case.dtype}: {claim_name} compares results that are each "
                "rounded to half precision; matches_reference judges them one by one"
            )
        check(candidate, case, evidence)

    return checked


@dataclass(frozen=True)
class Property:
    """One named, separately reported claim about one function of a candidate."""

    name: str  # e.g. "conv2d_backward.finite_differences"
    function: str  # the candidate function it checks
    summary: str  # one sentence: what holds when this passes
    formula: str  # the maths it checks, for reports
    # (dtype, unsupported features, windows convention, sizes=size classes) -> cases
    cases: Callable[..., st.SearchStrategy]
    check: Check
    needs_torch: bool = False
    calls: tuple[str, ...] = ()  # the candidate's other functions the check calls


# Every property, in the order its module defined it; the ops' modules fill it as they
# are imported (cnnref.checks imports them all, in the order of cnnref.ops.OPS).
REGISTERED: list[Property] = []


def claim(
    name: str,
    *,
    summary: str,
    formula: str,
    cases: Callable[..., st.SearchStrategy],
    needs_torch: bool = False,
    calls: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register the decorated check as the property ``name`` ("function.claim").

    ``summary`` says what holds when it passes and ``formula`` the maths it
    checks (both for reports); ``cases`` draws its examples; ``calls`` names
    the candidate's other functions the check calls.
    """
    function, _, claim_name = name.partition(".")
    if not claim_name or any(p.name == name for p in REGISTERED):
        raise ValueError(f"property names are 'function.claim' and unique; got {name!r}")
    if function not in FUNCTIONS:
        raise ValueError(f"{name!r}: {function!r} is no function of an op in cnnref.ops.OPS")

    def register(check: Check) -> Check:
        judged = not_checked_in_half(claim_name, check)
        REGISTERED.append(
            Property(name, function, summary, formula, cases, judged, needs_torch, calls)
        )
        return check

    return register


def trusted_forward(
    candidate: Candidate,
    case: Any,
    function: str,
    *,
    judge: Callable[[], None],
    reference: Callable[..., Any],
    expect: Callable[[Any], np.ndarray],
) -> Callable[[list[tuple]], list[np.ndarray]]:
    """The candidate's own ``function`` (a forward), once it matches the reference on ``case``.

    The properties that judge a backward through its forward (finite
    differences, adjointness, conservation) call it through this: where the
    forward is wrong, they cannot blame the backward.  ``judge()`` raises
    Falsified where it is wrong on this example; ``expect`` checks each
    result.  Without a forward of its own, the candidate is judged through
    ``reference``.  Returns ``forward(inputs)``: the forward of each tuple of
    operands in a list, in order; where it disagrees with ``reference`` at
    one of those points (finite differences move the inputs, and a forward
    right at the example may be wrong a step away), NotChecked.
    """
    if not candidate.has(function):
        return lambda inputs: [reference(*operands) for operands in inputs]
    try:
        judge()
    except Falsified:
        raise NotChecked(
            f"not checked: the forward is wrong on this example; see {function}.matches_reference"
        ) from None

    def forward(inputs: list[tuple]) -> list[np.ndarray]:
        results = candidate.call_many(function, [case.spell(*operands) for operands in inputs])
        ys = [expect(y) for y in results]
        for operands, y in zip(inputs, ys):
            _require_agreement(function, y, reference(*operands))
        return ys

    return forward


# How far the candidate's forward may stray from the reference at a point a property
# evaluates: far above rounding, far below a different semantics (padding, NaN, ties).
DEVIATION_RTOL = {"float64": 1e-7, "float32": 1e-3}


def _require_agreement(function: str, y: np.ndarray, expected: np.ndarray) -> None:
    """NotChecked where ``y`` (the candidate's forward at a point next to the example) is not
    the reference's ``expected``: a backward judged through it would be blamed for the forward."""
    expected = np.asarray(expected)
    if y.shape != expected.shape:
        return  # expect() already judged the shape; the reference may differ in dtype only
    rtol = DEVIATION_RTOL.get(y.dtype.name, DEVIATION_RTOL["float32"])
    y64, expected64 = np.asarray(y, np.float64), np.asarray(expected, np.float64)
    finite = np.isfinite(expected64)
    magnitude = max(1.0, float(np.abs(expected64[finite]).max(initial=0.0)))
    close = np.isclose(y64, expected64, rtol=rtol, atol=rtol * magnitude, equal_nan=True)
    if close.all():
        return
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    raise NotChecked(
        f"not checked: the forward deviates next to this example: at a point the property "
        f"evaluates (the example's inputs moved by a finite-difference step), {function} gives "
        f"y{list(index)} = {y64[index]!r} where the reference gives {expected64[index]!r}; "
        "the backward is not judged through a forward that disagrees there"
    )


def expect_array(
    result: Any,
    *,
    function: str,
    name: str,
    shape: tuple[int, ...],
    hints: Callable[[np.ndarray], list[str]] | None = None,
) -> np.ndarray:
    """``result`` if it is an ndarray of ``shape``; otherwise Falsified, saying what came back.

    ``hints(result)``, asked only when the shape is wrong, says what its shape (and values)
    suggest.
    """
    if not isinstance(result, np.ndarray):
        raise Falsified(
            f"{function} returned {type_name(result)} for {name}; expected a numpy.ndarray "
            f"of shape {shape}"
        )
    if result.shape != tuple(shape):
        raise Falsified(
            f"{function} returned {name} of shape {result.shape}; expected {tuple(shape)}",
            hints(result) if hints else (),
        )
    return result


def unpack(result: Any, *, function: str, names: tuple[str, ...]) -> tuple:
    """Split a tuple result such as ``(dx, dw, db)``, saying what came back if it is not one."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise Falsified(
            f"{function} returned {type_name(result)}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + f"; expected a tuple ({', '.join(names)})"
        )
    return tuple(result)
