"""The properties every op has, written once and built from each op's ``OpSpec``.

An op's forward is checked against the reference and PyTorch, and keeps the
contract; its backward too, and is checked against finite differences of the
forward and, where the op is linear in its operands, for adjointness.  What
differs between ops is small and lives in the op's spec (its
``properties.py``): the names of the operands and gradients, the magnitudes
the tolerances scale with and how many terms each output sums, the normwise
allowance of fast algorithms, the hints, and the conventions a pool may
declare.  ``register`` adds a standard property to the registry under the
op's name (``conv2d_backward.finite_differences``); properties only one op
has are registered in its own module, with ``claim``.

A case's arrays are its forward's operands then ``dy``
(``*operands, dy = case.arrays()``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np

from .. import reference
from ..ops import op_operands
from ..ops.arguments import common_dtype
from ..oracles import finite_differences, torch_autograd
from ..strategies.cases import DY_VALUES, Case
from ..strategies.draws import SIZE_CLASSES, SizeClass
from ..strategies.pooling import DISTINCT_SPACING, POOL_VALUES, X_VALUES
from . import base, contract
from .base import Candidate, Evidence, Falsified, Hints, claim, expect_array, type_name, unpack
from .compare import as_float64, compare, rtol_for, summation_rtol
from .hints import pool_backward_hints


class OpSpec:
    """What the standard properties need to know about one op; an op's spec subclasses it.

    ``conventions`` is what a pool candidate declares (``cnnref.declarations``), or None
    for an op without conventions; the methods that take it pass it on to the op.
    """

    op: str
    differentiable: tuple[str, ...] = ("x",)  # operands finite differences and adjointness check
    fd_step: float = 1.0  # the finite-difference step (exact for any step where the op is linear)
    finite_backward_when: str = "finite inputs"  # when the backward must return finite values
    # The inputs a failure shows, in the order shown.
    forward_shown: tuple[str, ...] = ("x",)
    backward_shown: tuple[str, ...] = ("x", "dy")
    fd_shown: tuple[str, ...] = ("x", "dy")

    @property
    def backward(self) -> str:
        return f"{self.op}_backward"

    @property
    def operands(self) -> tuple[str, ...]:
        """The forward's arrays, in order, as the op declares them: ("x", "w", "b")."""
        return op_operands(self.op)

    @property
    def gradients(self) -> tuple[str, ...]:
        """What the backward returns, one per operand: ("dx", "dw", "db")."""
        return tuple(f"d{name}" for name in self.operands)

    # ---- what its standard properties say, for the reports and the docs

    forward_formula: str = ""  # the forward's maths
    backward_formula: str = ""  # the backward's
    backward_returns: str = "a new ndarray of x's shape and the right dtype"
    # Where the op words a standard property its own way: standard name -> text.
    summaries: ClassVar[dict[str, str]] = {}
    formulas: ClassVar[dict[str, str]] = {}

    # The op's case strategy (its cases.py), and whether it takes the windows convention.
    strategy: Callable[..., Any]
    takes_windows: bool = True

    def draw(self, **options: Any) -> Callable:
        """A property's ``cases``: the op's strategy drawn with ``options`` (``case_strategy``)."""
        return case_strategy(self.strategy, takes_windows=self.takes_windows, **options)

    def cases_for(self, standard: str) -> Callable:
        """The ``cases`` of the op's standard property ``standard`` (a key of ``CHECKS``)."""
        raise NotImplementedError

    def family_summaries(self) -> dict[str, str]:
        """The standard properties the op's family words its own way: standard name -> text."""
        return {}

    def summary(self, standard: str) -> str:
        """What holds when the standard property ``standard`` passes, in one sentence: the
        op's own words, else its family's, else every op's."""
        if standard in self.summaries:
            return self.summaries[standard]
        worded = self.family_summaries()
        if standard in worded:
            return worded[standard]
        op, gradients = self.op, _listed(self.gradients)
        stepped = _listed([f"d{name}" for name in self.differentiable])
        one = len(self.differentiable) == 1
        adjoint = "The gradient is the adjoint" if one else "The gradients are the adjoints"
        adjoints = " = ".join(f"<{name}, d{name.upper()}(g)>" for name in self.differentiable)
        return {
            "matches_reference": f"{op} agrees with cnnref's reference element by element.",
            "matches_torch": f"{op} agrees with torch.nn.functional.{op}.",
            "contract": f"{op} returns a new ndarray of the right shape and dtype, finite, the "
            "same on every call, and leaves its inputs alone.",
            "backward.matches_reference": f"{gradients} {_agree(self.gradients)} with cnnref's "
            "reference element by element.",
            "backward.finite_differences": f"{stepped} {_agree(self.differentiable)} with central "
            f"finite differences of the candidate's own {op} (the reference's if it has none), "
            f"on examples where that {op} matches the reference: full Jacobians on small shapes, "
            "random sign projections on large ones.",
            "backward.adjointness": f"{adjoint} of the forward: "
            f"<{op}({', '.join(self.differentiable)}), g> = {adjoints}.",
            "backward.matches_torch": f"{gradients} {_agree(self.gradients)} with PyTorch autograd.",
            "backward.contract": f"{self.backward} returns {self.backward_returns}, finite for "
            f"{self.finite_backward_when}, deterministic, zero for zero dy, and leaves its inputs "
            "alone (dy with NaN and inf included).",
        }[standard]

    def formula(self, standard: str) -> str:
        """The maths the standard property ``standard`` checks."""
        if standard in self.formulas:
            return self.formulas[standard]
        operands = ", ".join(_symbol(name) for name in self.operands)
        stepped = [_symbol(name) for name in self.differentiable]
        single = len(self.gradients) == 1
        return {
            "matches_reference": self.forward_formula,
            "matches_torch": self.forward_formula,
            "contract": "dtype(Y) = dtype(X)" if single else f"dtype(Y) = result_type({operands})",
            "backward.matches_reference": self.backward_formula,
            "backward.finite_differences": "<dL/dX, v> = d/dt "
            f"<{self.op}({', '.join(['X + t v', *stepped[1:]])}), dY>",
            "backward.adjointness": f"<{self.op}({', '.join(stepped)}), G> = "
            + " = ".join(f"<{name}, d{name}(G)>" for name in stepped),
            "backward.matches_torch": self.backward_formula,
            "backward.contract": f"dtype{'(dX)' if single else ''} = result_type(dY, {operands})",
        }[standard]

    # ---- what the op computes

    def conventions(self, candidate: Candidate, function: str) -> Any:
        return None

    def torch_conventions(self) -> Any:
        return None

    def require_torch_can_judge(self, candidate: Candidate, function: str) -> None:
        """NotChecked where PyTorch cannot judge what the candidate declares."""

    def reference_forward(self, case: Case, conventions: Any) -> Callable[..., np.ndarray]:
        """The reference's forward: ``f(*operands, **case.geometry)``."""
        return getattr(reference, self.op)

    def reference_backward(self, case: Case, conventions: Any) -> Callable[..., Any]:
        """The reference's backward: ``f(dy, *operands, **case.geometry)``."""
        return getattr(reference, self.backward)

    def torch_forward(self, *operands: np.ndarray | None, **geometry) -> np.ndarray:
        return torch_autograd.forward(self.op, *operands, **geometry)

    def torch_backward(self, dy: np.ndarray, *operands: np.ndarray | None, **geometry) -> tuple:
        return torch_autograd.with_gradients(self.op, dy, *operands, **geometry)[1:]

    # ---- tolerances

    # How many terms each element of ``y`` and of each gradient sums (its properties.py):
    # sets the float32 tolerance.
    summed_terms: Callable[[Any], dict[str, int]]

    def rtol(self, case: Case, output: str) -> float:
        return rtol_for(case.dtype, self.summed_terms(case)[output])

    # The op's scales (its scales.py): scale(*operands, **geometry), the magnitude of the terms
    # each output sums (the op on absolute values), and gradient_scales(dy, *operands,
    # **geometry), the same for each gradient (one array for a single gradient).
    scale: Callable[..., Any]
    gradient_scales: Callable[..., Any]

    def forward_scale(self, case: Case, operands64: Sequence, conventions: Any) -> Any:
        return self.scale(*operands64, **case.geometry)

    def backward_scales(self, case: Case, dy64, operands64: Sequence, conventions: Any) -> tuple:
        """The magnitudes for each gradient, in the order of ``gradients``."""
        scales = self.gradient_scales(dy64, *operands64, **case.geometry)
        return (scales,) if len(self.gradients) == 1 else tuple(scales)

    def forward_normwise(self, case: Case, operands64: Sequence) -> np.ndarray | float:
        """What an FFT or Winograd forward may add to each output plane (compare.py): none
        unless the op says so."""
        return 0.0

    def backward_normwise(self, case: Case, dy64, operands64: Sequence) -> dict[str, Any]:
        return {}

    def fd_magnitude(
        self, case: Case, operands64: Sequence, dy64: np.ndarray, stepped: str, conventions: Any
    ) -> float:
        """The magnitude of the losses a finite difference along ``stepped`` subtracts:
        <op(|operands|, with ``stepped`` one step larger), |dy|>."""
        absolute = [
            None if a is None else np.abs(a) + (self.fd_step if name == stepped else 0.0)
            for name, a in zip(self.operands, operands64)
        ]
        return float(np.sum(self.forward_scale(case, absolute, conventions) * np.abs(dy64)))

    def scale_text(self, output: str, operands: Sequence[str]) -> str:
        """What ``output``'s tolerance scales with, as the golden vectors describe it:
        ``conv2d(|x|, |w|)``, ``dx of conv2d_backward(|dy|, |x|, |w|)``."""
        magnitudes = ", ".join(f"|{name}|" for name in operands)
        if output == "y":
            return f"{self.op}({magnitudes})"
        call = f"{self.backward}(|dy|, {magnitudes})"
        return call if len(self.gradients) == 1 else f"{output} of {call}"

    # ---- hints: what a wrong result suggests

    def shape_hints(self, case: Case, wrong: np.ndarray) -> list[str]:
        return []

    def forward_hints(
        self, case: Case, operands64: Sequence, expected, actual, scale, conventions: Any
    ) -> Hints:
        return base.no_hints

    def backward_hints(
        self,
        case: Case,
        name: str,
        dy64,
        operands64: Sequence,
        expected,
        actual,
        scale,
        conventions,
    ) -> Hints:
        return base.no_hints

    # ---- extra checks of the contract

    def check_forward_output(
        self, candidate: Candidate, case: Case, operands: Sequence, y: np.ndarray
    ) -> None:
        """What the forward's output must be beyond its shape and dtype: finite here."""
        contract.require_finite([y], self.op, "finite inputs")

    def fd_arrays(self, candidate: Candidate, case: Case) -> list:
        """The operands and dy finite differences are taken at: the case's own."""
        return list(case.arrays())

    # ---- calling the candidate

    def call_forward(self, candidate: Candidate, case: Case, *operands) -> np.ndarray:
        args, kwargs = case.spell(*operands)
        return self.expect_y(case, candidate.call(self.op, *args, **kwargs))

    def expect_y(self, case: Case, result: Any) -> np.ndarray:
        return expect_array(
            result,
            function=self.op,
            name="y",
            shape=case.y_shape,
            hints=lambda wrong: self.shape_hints(case, wrong),
        )

    def call_backward(self, candidate: Candidate, case: Case, dy, *operands) -> tuple:
        """The candidate's gradients, one per operand (None where the operand is None)."""
        args, kwargs = case.spell(dy, *operands)
        result = candidate.call(self.backward, *args, **kwargs)
        if len(self.gradients) == 1:
            (operand,) = operands
            return (expect_array(result, function=self.backward, name="dx", shape=operand.shape),)
        values = unpack(result, function=self.backward, names=self.gradients)
        gradients: list[np.ndarray | None] = []
        for operand_name, name, value, operand in zip(
            self.operands, self.gradients, values, operands
        ):
            if operand is not None:
                gradients.append(
                    expect_array(value, function=self.backward, name=name, shape=operand.shape)
                )
            elif value is not None:
                raise Falsified(
                    f"{self.backward} returned {name}={type_name(value)} for "
                    f"{operand_name}=None; expected None"
                )
            else:
                gradients.append(None)
        return tuple(gradients)

    def trusted_forward(
        self, candidate: Candidate, case: Case, operands: Sequence | None = None
    ) -> Callable[[list[tuple]], list[np.ndarray]]:
        """The candidate's own forward once it matches the reference on ``operands`` (the
        case's own if None), as ``base.trusted_forward``; without a forward of its own, the
        reference under the backward's conventions."""
        conventions = self.conventions(candidate, self.op)
        backward_reference = self.reference_forward(
            case, self.conventions(candidate, self.backward)
        )
        return base.trusted_forward(
            candidate,
            case,
            self.op,
            judge=lambda: check_forward_matches(
                self,
                candidate,
                case,
                Evidence(),
                self.reference_forward(case, conventions),
                conventions,
                operands,
            ),
            reference=lambda *operands: backward_reference(*operands, **case.geometry),
            expect=lambda result: self.expect_y(case, result),
        )


class ConvolutionSpec(OpSpec):
    """An op of x, w and an optional bias b, linear in x and in w (conv2d, conv_transpose2d).

    ``hints`` is its hints module: ``shape_hints(case, wrong)``, ``forward_hints(case, x, w, b,
    expected, actual, scale, comparison)`` and ``backward_hints(case, name, x, w, dy,
    expected, actual, scale, comparison)``.
    """

    differentiable = ("x", "w")
    backward_returns = "new arrays (db None without b) of the right shapes and dtype"
    forward_shown = ("x", "w", "b")
    backward_shown = ("dy", "x", "w")
    fd_shown = ("x", "w", "dy")
    hints: Any

    def cases_for(self, standard: str) -> Callable:
        # The contract also draws dy with NaN and inf; the other checks finite dy only.
        return self.draw(dy_values=DY_VALUES if standard == "backward.contract" else ("finite",))

    def shape_hints(self, case: Case, wrong: np.ndarray) -> list[str]:
        return self.hints.shape_hints(case, wrong)

    def forward_hints(self, case, operands64, expected, actual, scale, conventions) -> Hints:
        return partial(self.hints.forward_hints, case, *operands64, expected, actual, scale)

    def backward_hints(
        self, case, name, dy64, operands64, expected, actual, scale, conventions
    ) -> Hints:
        x64, w64, _ = operands64
        return partial(
            self.hints.backward_hints, case, name, x64, w64, dy64, expected, actual, scale
        )


class AveragePoolSpec(OpSpec):
    """A pool that averages its windows (avg_pool2d, adaptive_avg_pool2d): one operand x, and
    linear in it.

    ``hints`` is its hints module: ``shape_hints(case, wrong)``, ``forward_hints(case, x,
    expected, actual, scale)``, and what ``pool_backward_hints`` reads.  The forward's checks
    draw x from ``X_VALUES`` (NaN and inf included), the backward's reference check dy from
    ``DY_VALUES``, finite differences and adjointness finite values only.  Its summaries name
    what its reference check covers (``reference_covers``) and how its backward spreads each
    dY (``gradient_spread``).
    """

    finite_backward_when = "a finite dy"
    hints: Any
    reference_covers: str
    gradient_spread: str

    def family_summaries(self) -> dict[str, str]:
        op = self.op
        return {
            "matches_reference": f"{op} agrees with cnnref's reference element by element: "
            f"{self.reference_covers} included, and NaN and inf in x reach only the windows "
            "that hold them.",
            "matches_torch": f"{op} agrees with torch.nn.functional.{op}, NaN and inf included.",
            "contract": f"{op} returns a new ndarray of the right shape and dtype, finite for "
            "finite inputs, the same on every call, and leaves its input alone (x with NaN and "
            "inf included).",
            "backward.matches_reference": "dx agrees with cnnref's reference: "
            f"{self.gradient_spread} (NaN and inf in dy reach only those).",
        }

    def cases_for(self, standard: str) -> Callable:
        finite = ("finite",)
        if standard in FORWARD_CHECKS:
            return self.draw(dy_values=finite, x_values=X_VALUES)
        if standard in ("backward.finite_differences", "backward.adjointness"):
            return self.draw(dy_values=finite, x_values=finite)
        return self.draw(dy_values=DY_VALUES, x_values=finite)

    def shape_hints(self, case: Case, wrong: np.ndarray) -> list[str]:
        return self.hints.shape_hints(case, wrong)

    def forward_hints(self, case, operands64, expected, actual, scale, conventions) -> Hints:
        (x,) = operands64
        return partial(self.hints.forward_hints, case, x, expected, actual, scale)

    def backward_hints(
        self, case, name, dy64, operands64, expected, actual, scale, conventions
    ) -> Hints:
        (x,) = operands64
        return partial(pool_backward_hints, self.hints, case, x, dy64, expected, actual, scale)

    def check_forward_output(self, candidate, case, operands, y) -> None:
        if case.x_values == "finite":
            contract.require_finite([y], self.op, "finite inputs")


class MaxPoolSpec(OpSpec):
    """A pool that selects its window's maximum (max_pool2d, adaptive_max_pool2d): y is exact,
    NaN and the sign of zero included, and an element of dx adds up the dY of the windows that
    select it.

    ``hints`` is its hints module (``shape_hints(case, wrong)`` among them);
    ``reference_y(case, x, conventions)`` is the forward the candidate's must equal.  Its
    cases draw x's values from ``POOL_VALUES`` (tie-free ones for finite differences).  Its
    summaries name what its reference check covers (``reference_covers``) and how the dY of
    overlapping windows combine (``overlaps``).
    """

    finite_backward_when = "a finite dy"
    # Far below the gap between distinct inputs, so no maximum moves, and a power of two, so
    # x +- step is exact in float32 and float64.
    fd_step = DISTINCT_SPACING / 8
    hints: Any
    reference_covers: str
    overlaps: str

    def reference_y(self, case: Case, x: np.ndarray, conventions: Any) -> np.ndarray:
        raise NotImplementedError

    def family_summaries(self) -> dict[str, str]:
        op = self.op
        return {
            "matches_reference": f"{op} agrees exactly with cnnref's reference, "
            f"{self.reference_covers}.",
            "matches_torch": f"{op} agrees exactly with torch.nn.functional.{op}.",
            "contract": f"{op} returns a new ndarray of the right shape and dtype, NaN only "
            "where a window holds NaN, the same on every call, and leaves its input alone.",
            "backward.matches_reference": "dx agrees with cnnref's reference: ties, NaN and -inf "
            f"routed as PyTorch does, {self.overlaps}.",
            "backward.finite_differences": "On tie-free inputs dx agrees with central finite "
            f"differences of the candidate's own {op} (the reference's if it has none), on "
            f"examples where that {op} matches the reference.",
        }

    def cases_for(self, standard: str) -> Callable:
        finite = ("finite",)
        if standard == "backward.finite_differences":
            return self.draw(values=("distinct",), dy_values=finite)
        dy_values = finite if standard in FORWARD_CHECKS else DY_VALUES
        return self.draw(values=POOL_VALUES, dy_values=dy_values)

    def rtol(self, case: Case, output: str) -> float:
        return 0.0 if output == "y" else super().rtol(case, output)

    def forward_scale(self, case, operands64, conventions) -> float:
        return 0.0

    def fd_magnitude(self, case, operands64, dy64, stepped, conventions) -> float:
        y = self.reference_y(case, operands64[0], conventions)
        return float(np.sum(np.abs(dy64) * (np.abs(y) + 1)))

    def scale_text(self, output: str, operands: Sequence[str]) -> str:
        # dx's scale routes |dy| by x itself, as the backward does.
        return "exact" if output == "y" else f"{self.backward}(|dy|, x)"

    def shape_hints(self, case: Case, wrong: np.ndarray) -> list[str]:
        return self.hints.shape_hints(case, wrong)

    def check_forward_output(self, candidate, case, operands, y) -> None:
        (x,) = operands
        conventions = self.conventions(candidate, self.op)
        stray = np.isnan(y) & ~np.isnan(self.reference_y(case, x, conventions))
        if stray.any():
            index = [int(i) for i in np.argwhere(stray)[0]]
            raise Falsified(f"{self.op} returned NaN at {index}, whose window holds no NaN")


def _listed(names: Sequence[str]) -> str:
    """("dx", "dw", "db") -> "dx, dw and db"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _agree(names: Sequence[str]) -> str:
    return "agrees" if len(names) == 1 else "agree"


def _symbol(operand: str) -> str:
    """An operand as the formulas write it: the arrays in capitals, the bias vector b not."""
    return operand if operand == "b" else operand.upper()


def convolution_summed_terms(case: Any, dw_pixels: int) -> dict[str, int]:
    """How many products each output element of a convolution (x, w, b) sums, at most: sets
    the float32 tolerance.  ``dw_pixels``: the pixels of one image each element of dw sums
    over (dy's for conv2d, x's for conv_transpose2d, where x's pixels are the scattered ones)."""
    kh, kw = case.kernel_size
    oh, ow = case.y_shape[-2:]
    return {
        "y": case.in_channels // case.groups * kh * kw + 1,
        "dx": case.out_channels // case.groups * kh * kw,
        "dw": case.batch * dw_pixels,
        "db": case.batch * oh * ow,
    }


def _shown(names: Sequence[str], arrays: dict) -> dict:
    return {name: arrays[name] for name in names}


def check_forward_matches(
    spec: OpSpec,
    candidate: Candidate,
    case: Case,
    evidence: Evidence,
    oracle: Callable[..., np.ndarray],
    conventions: Any = None,
    operands: Sequence | None = None,
) -> None:
    """The candidate's forward on ``operands`` (the case's own if None) against
    ``oracle(*operands64, **case.geometry)``."""
    if operands is None:
        *operands, _ = case.arrays()
    y = spec.call_forward(candidate, case, *operands)
    operands64 = as_float64(*operands)
    expected = oracle(*operands64, **case.geometry)
    scale = spec.forward_scale(case, operands64, conventions)
    comparison = compare(
        y,
        expected,
        scale=scale,
        rtol=spec.rtol(case, "y"),
        name="y",
        normwise=spec.forward_normwise(case, operands64),
    )
    evidence.require(
        comparison,
        spec.forward_hints(case, operands64, expected, y, scale, conventions),
        inputs=_shown(spec.forward_shown, dict(zip(spec.operands, operands))),
    )


def check_backward_matches(
    spec: OpSpec,
    candidate: Candidate,
    case: Case,
    evidence: Evidence,
    oracle: Callable[..., Any],
    conventions: Any = None,
) -> None:
    """The candidate's gradients against ``oracle(dy64, *operands64, **case.geometry)``."""
    *operands, dy = case.arrays()
    actual = spec.call_backward(candidate, case, dy, *operands)
    operands64 = as_float64(*operands)
    (dy64,) = as_float64(dy)
    expected = oracle(dy64, *operands64, **case.geometry)
    if isinstance(expected, np.ndarray):  # an op with one gradient
        expected = (expected,)
    scales = spec.backward_scales(case, dy64, operands64, conventions)
    normwise = spec.backward_normwise(case, dy64, operands64)
    shown = _shown(spec.backward_shown, dict(zip(spec.operands, operands), dy=dy))
    for name, got, want, scale in zip(spec.gradients, actual, expected, scales):
        if got is None:
            continue
        comparison = compare(
            got,
            want,
            scale=scale,
            rtol=spec.rtol(case, name),
            name=name,
            normwise=normwise.get(name, 0.0),
        )
        evidence.require(
            comparison,
            spec.backward_hints(case, name, dy64, operands64, want, got, scale, conventions),
            inputs=shown,
        )


def weighted_normwise(normwise: np.ndarray | float, weights: np.ndarray) -> float:
    """A bound on |sum_i error_i * weights_i| when each plane's errors are within ``normwise``."""
    plane_sums = np.sum(np.abs(np.asarray(weights, np.float64)), axis=(-2, -1), keepdims=True)
    return float(np.sum(normwise * plane_sums))


# ---------------------------------------------------------------- the checks


def matches_reference(spec: OpSpec, candidate, case, evidence, *, backward: bool = False) -> None:
    """The forward (or the backward) against the reference, under the declared conventions."""
    conventions = spec.conventions(candidate, spec.backward if backward else spec.op)
    if backward:
        oracle = spec.reference_backward(case, conventions)
        check_backward_matches(spec, candidate, case, evidence, oracle, conventions)
    else:
        oracle = spec.reference_forward(case, conventions)
        check_forward_matches(spec, candidate, case, evidence, oracle, conventions)


def matches_torch(spec: OpSpec, candidate, case, evidence, *, backward: bool = False) -> None:
    """The forward (or the backward, by autograd) against PyTorch, under PyTorch's conventions."""
    spec.require_torch_can_judge(candidate, spec.backward if backward else spec.op)
    conventions = spec.torch_conventions()
    if backward:
        check_backward_matches(spec, candidate, case, evidence, spec.torch_backward, conventions)
    else:
        check_forward_matches(spec, candidate, case, evidence, spec.torch_forward, conventions)


def forward_contract(spec: OpSpec, candidate, case, evidence) -> None:
    *operands, _ = case.arrays()
    (y,) = contract.call_and_check(
        candidate,
        spec.op,
        *case.spell(*operands),
        names=("y",),
        shapes=(case.y_shape,),
        dtype=common_dtype(*operands),
    )
    assert y is not None  # checked to be an array of y's shape
    spec.check_forward_output(candidate, case, operands, y)


def backward_finite_differences(spec: OpSpec, candidate, case, evidence) -> None:
    """Each differentiable operand's gradient against central differences of the forward:
    the full Jacobian on small operands, random sign projections on large ones."""
    conventions = spec.conventions(candidate, spec.backward)
    *operands, dy = spec.fd_arrays(candidate, case)
    forward = spec.trusted_forward(candidate, case, operands)
    gradients = dict(zip(spec.operands, spec.call_backward(candidate, case, dy, *operands)))
    step = spec.fd_step
    rtol = summation_rtol(case.dtype, max(spec.summed_terms(case).values()), dy.size) / step
    rng = np.random.default_rng(case.seed + 1)
    operands64 = as_float64(*operands)
    (dy64,) = as_float64(dy)
    gradient_normwise = spec.backward_normwise(case, dy64, operands64)
    shown = _shown(spec.fd_shown, dict(zip(spec.operands, operands), dy=dy))
    for index, operand_name in enumerate(spec.operands):
        if operand_name not in spec.differentiable:
            continue
        name = spec.gradients[index]
        operand, gradient = operands[index], gradients[operand_name]

        def as_function(points, index=index):
            return forward([(*operands[:index], v, *operands[index + 1 :]) for v in points])

        scale = spec.fd_magnitude(case, operands64, dy64, operand_name, conventions)
        # What FFT or Winograd rounding in the stepped forwards may add to a difference.
        stepped = [
            np.abs(a) + (step if n == operand_name else 0.0)
            for n, a in zip(spec.operands, operands64)
            if a is not None
        ]
        numerical_normwise = weighted_normwise(spec.forward_normwise(case, stepped), dy64)
        normwise = gradient_normwise.get(name, 0.0)
        if operand.size <= finite_differences.FULL_JACOBIAN_LIMIT:
            numerical = finite_differences.numerical_gradient(as_function, operand, dy, eps=step)
            evidence.require(
                compare(
                    gradient,
                    numerical,
                    scale=scale,
                    rtol=rtol,
                    name=f"{name} vs finite differences",
                    normwise=numerical_normwise + normwise,
                ),
                inputs=shown,
            )
            continue
        for _ in range(finite_differences.PROJECTIONS):
            direction = rng.choice([-1.0, 1.0], size=operand.shape).astype(case.dtype)
            along = finite_differences.directional_derivative(
                as_function, operand, dy, direction, eps=step
            )
            derivative = float(np.vdot(np.asarray(gradient, np.float64), direction))
            evidence.require(
                compare(
                    np.array(derivative),
                    np.array(along),
                    scale=scale,
                    rtol=rtol,
                    name=f"<{name}, v> vs finite differences along a random sign vector v",
                    normwise=numerical_normwise + weighted_normwise(normwise, direction),
                )
            )


def backward_adjointness(spec: OpSpec, candidate, case, evidence) -> None:
    """<op(operands), g> = <operand, dOperand(g)> for each differentiable operand: the op is
    linear in each (the others, a bias among them, left out)."""
    *arrays, g = case.arrays()
    operands = [a if n in spec.differentiable else None for n, a in zip(spec.operands, arrays)]
    (y,) = spec.trusted_forward(candidate, case)([tuple(operands)])
    gradients = spec.call_backward(candidate, case, g, *operands)
    operands64 = as_float64(*operands)
    (g64,) = as_float64(g)
    output_side = float(np.vdot(np.asarray(y, dtype=np.float64), g64))
    scale = float(np.sum(np.abs(spec.forward_scale(case, operands64, None)) * np.abs(g64)))
    rtol = summation_rtol(case.dtype, max(spec.summed_terms(case).values()), g.size)
    present = [a for a in operands64 if a is not None]
    output_normwise = weighted_normwise(spec.forward_normwise(case, present), g64)
    gradient_normwise = spec.backward_normwise(case, g64, operands64)
    call = f"<{spec.op}({', '.join(spec.differentiable)}), g>"
    for operand_name, name, operand64, gradient in zip(
        spec.operands, spec.gradients, operands64, gradients
    ):
        if operand_name not in spec.differentiable or operand64 is None:
            continue
        normwise = weighted_normwise(gradient_normwise.get(name, 0.0), operand64)
        evidence.require(
            compare(
                np.array(float(np.vdot(operand64, np.asarray(gradient, np.float64)))),
                np.array(output_side),
                scale=scale,
                rtol=rtol,
                name=f"<{operand_name}, d{operand_name.upper()}(g)> against {call}",
                normwise=output_normwise + normwise,
            )
        )


def backward_contract(spec: OpSpec, candidate, case, evidence) -> None:
    *operands, dy = case.arrays()
    gradients = contract.call_and_check(
        candidate,
        spec.backward,
        *case.spell(dy, *operands),
        names=spec.gradients,
        shapes=tuple(None if a is None else a.shape for a in operands),
        dtype=common_dtype(dy, *operands),
    )
    if case.dy_values == "finite":
        contract.require_finite(gradients, spec.backward, spec.finite_backward_when)
    zero_args, geometry = case.spell(np.zeros_like(dy), *operands)
    contract.require_zero_gradients(candidate, spec.backward, zero_args, geometry, spec.gradients)


# Each standard property: (the function it checks, forward or backward; its check).
CHECKS: dict[str, tuple[str, Callable]] = {
    "matches_reference": ("forward", matches_reference),
    "matches_torch": ("forward", matches_torch),
    "contract": ("forward", forward_contract),
    "backward.matches_reference": ("backward", partial(matches_reference, backward=True)),
    "backward.finite_differences": ("backward", backward_finite_differences),
    "backward.adjointness": ("backward", backward_adjointness),
    "backward.matches_torch": ("backward", partial(matches_torch, backward=True)),
    "backward.contract": ("backward", backward_contract),
}


def case_strategy(
    strategy: Callable[..., Any],
    *,
    takes_windows: bool = True,
    then: Callable[[Any], Any] | None = None,
    **options: Any,
) -> Callable[..., Any]:
    """A property's ``cases``, ``cases(dtype, unsupported, windows, sizes)``: the examples of
    ``strategy`` (an op's, as ``conv_cases``) drawn with ``options``, each passed through
    ``then`` if given.  ``takes_windows=False``: the op has no windows convention."""

    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",
        sizes: Sequence[SizeClass] = SIZE_CLASSES,
    ) -> Any:
        convention = {"windows": windows} if takes_windows else {}
        drawn = strategy(dtype=dtype, unsupported=unsupported, sizes=sizes, **convention, **options)
        return drawn if then is None else drawn.map(then)

    return cases


def register(
    spec: OpSpec,
    standard: str,
    *,
    summary: str | None = None,
    formula: str | None = None,
    cases: Callable | None = None,
) -> None:
    """Register the standard property ``standard`` (a key of ``CHECKS``) for ``spec``'s op,
    as ``<op>.<claim>`` or ``<op>_backward.<claim>``; its summary, formula and cases are the
    spec's unless given."""
    side, check = CHECKS[standard]
    function = spec.op if side == "forward" else spec.backward
    claim_name = standard.removeprefix("backward.")
    needs_torch = claim_name == "matches_torch"
    # The backward's checks that call the candidate's forward too: finite differences and
    # adjointness evaluate it, the contract interleaves it between backward calls.
    calls = (
        (spec.op,)
        if claim_name in ("finite_differences", "adjointness", "contract") and side == "backward"
        else ()
    )
    claim(
        f"{function}.{claim_name}",
        summary=spec.summary(standard) if summary is None else summary,
        formula=spec.formula(standard) if formula is None else formula,
        cases=spec.cases_for(standard) if cases is None else cases,
        needs_torch=needs_torch,
        calls=calls,
    )(lambda candidate, case, evidence: check(spec, candidate, case, evidence))


def register_each(spec: OpSpec, standards: Sequence[str]) -> None:
    """``register`` each of ``standards`` in turn, as the spec words it."""
    for standard in standards:
        register(spec, standard)


def register_all(spec: OpSpec) -> None:
    """``register`` every standard property, the forward's then the backward's, as the spec
    words them: an op with no properties of its own between them."""
    register_each(spec, (*FORWARD_CHECKS, *BACKWARD_CHECKS))


# The standard properties in the order an op registers them.
FORWARD_CHECKS = ("matches_reference", "matches_torch", "contract")
BACKWARD_CHECKS = (
    "backward.matches_reference",
    "backward.finite_differences",
    "backward.adjointness",
    "backward.matches_torch",
    "backward.contract",
)
