"""The properties of max_pool2d and max_pool2d_backward: the standard ones built from ``SPEC``
(cnnref/checks/standard.py), under the conventions a candidate declares, and
conservation and support, max pooling's own."""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...checks import standard
from ...checks.base import Candidate, Evidence, Falsified, NotChecked, claim
from ...checks.compare import compare, rtol_for
from ...checks.hints import where_gradient_went
from ...checks.standard import MaxPoolSpec
from ...declarations import NOTHING_DECLARED, PYTORCH_CONVENTIONS, Conventions
from ...strategies.layouts import with_layout
from ...strategies.pooling import DISTINCT_SPACING, POOL_VALUES
from . import hints
from .cases import MaxPoolCase, max_pool_cases
from .hints import backward_hints, forward_hints
from .scales import max_pool2d_backward_scale
from .windows import maxima_positions, share_kept


def conventions_of(candidate: Candidate, function: str) -> Conventions:
    """The conventions ``candidate`` declares for ``function`` (PyTorch's if it declares none)."""
    return getattr(candidate, "declarations", NOTHING_DECLARED).conventions_for(function)


def reference_forward(x: np.ndarray, case: MaxPoolCase, conventions: Conventions) -> np.ndarray:
    return reference.max_pool2d(x, **case.geometry, **conventions.reference_options("max_pool2d"))


def reference_backward(dy, x, case: MaxPoolCase, conventions: Conventions) -> np.ndarray:
    options = conventions.reference_options("max_pool2d_backward")
    return reference.max_pool2d_backward(dy, x, **case.geometry, **options)


def require_pytorch_conventions(candidate: Candidate, function: str) -> None:
    """NotChecked where the candidate declares conventions PyTorch does not follow."""
    reason = conventions_of(candidate, function).pytorch_cannot_judge(function)
    if reason:
        raise NotChecked(reason)


def summed_terms(case: MaxPoolCase) -> dict[str, int]:
    """The windows that can overlap one input: what an element of dx sums."""
    windows = int(np.prod(case.kernel_size))
    return {"y": windows, "dx": windows}


FORWARD = "Y[n,c,p,q] = max over in-bounds (i,j) of X[n, c, p*s + i*d - pad, q*s + j*d - pad]"
BACKWARD = "dX[u,v] = sum of dY over the windows that route to (u,v): first strict maximum, last NaN, first in-bounds if all -inf"


class MaxPool2dSpec(MaxPoolSpec):
    """A maximum selects an element: y must be exact, NaN included."""

    op = "max_pool2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    reference_covers = "NaN and -inf included"
    overlaps = "overlaps accumulated"
    summed_terms = staticmethod(summed_terms)
    hints = hints
    strategy = staticmethod(max_pool_cases)

    def conventions(self, candidate, function):
        return conventions_of(candidate, function)

    def torch_conventions(self):
        return PYTORCH_CONVENTIONS

    def require_torch_can_judge(self, candidate, function):
        require_pytorch_conventions(candidate, function)

    def reference_forward(self, case, conventions):
        options = conventions.reference_options("max_pool2d")
        return lambda x, **geometry: reference.max_pool2d(x, **geometry, **options)

    def reference_backward(self, case, conventions):
        options = conventions.reference_options("max_pool2d_backward")
        return lambda dy, x, **geometry: reference.max_pool2d_backward(dy, x, **geometry, **options)

    def backward_scales(self, case, dy64, operands64, conventions):
        options = conventions.reference_options("max_pool2d_backward")
        (x,) = operands64
        return (max_pool2d_backward_scale(dy64, x, **case.geometry, **options),)

    def fd_arrays(self, candidate, case):
        """The case's arrays; where padding holds zeros that compete, an input of exactly 0
        would tie with them: x is then moved half a grid step off zero, still tie-free."""
        x, dy = case.arrays()
        if conventions_of(candidate, self.backward).pad_value == "zeros":
            x = with_layout(x + x.dtype.type(DISTINCT_SPACING / 2), case.layout)
        return [x, dy]

    def forward_hints(self, case, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(forward_hints, case, x, expected, actual, conventions)

    def backward_hints(self, case, name, dy64, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(backward_hints, case, x, expected, actual, scale, conventions, dy=dy64)

    def reference_y(self, case, x, conventions):
        return reference_forward(x, case, conventions)


SPEC = MaxPool2dSpec()

# ---------------------------------------------------------------- max_pool2d

standard.register_each(SPEC, standard.FORWARD_CHECKS)

# ---------------------------------------------------------------- max_pool2d_backward

standard.register(SPEC, "backward.matches_reference")
standard.register(SPEC, "backward.finite_differences")


@claim(
    "max_pool2d_backward.conservation_and_support",
    summary="The gradient is conserved (sum dx = sum dy) and flows only to elements that are the maximum of a window containing them.",
    formula="sum dX = sum dY;  dX[u,v] != 0  =>  X[u,v] = max of a window containing (u,v)",
    cases=SPEC.draw(values=POOL_VALUES, dy_values=("finite",)),
    calls=("max_pool2d",),
)
def backward_conservation_and_support(
    candidate: Candidate, case: MaxPoolCase, evidence: Evidence
) -> None:
    """sum(dx) = sum(dy), and dx is non-zero only where an element is its window's maximum.

    Under declared conventions, gradient routed to zero padding (or, with NaN
    ignored, by a window of NaN only) leaves the input: the sum then counts
    each window's dL/dY by the share of it that reaches the input.
    """
    conventions = conventions_of(candidate, "max_pool2d_backward")
    x, dy = case.arrays()
    SPEC.trusted_forward(candidate, case)  # NotChecked where the candidate's forward is wrong here
    dx = SPEC.call_backward(candidate, case, dy, x)[0]
    dy64 = np.asarray(dy, np.float64)
    x64 = np.asarray(x, np.float64)
    y = reference_forward(x64, case, conventions)  # the candidate's forward (checked)
    rtol = rtol_for(case.dtype, dy.size)
    total = np.array(float(np.sum(np.asarray(dx, np.float64))))
    conserved = conventions.pad_value == "-inf" and conventions.nan != "ignore"
    kept = dy64 if conserved else dy64 * share_kept(case, x64, y, conventions)
    evidence.require(
        compare(
            total,
            np.array(float(kept.sum())),
            scale=float(np.abs(dy64).sum()),
            rtol=rtol,
            name="sum(dx) against sum(dy)"
            if conserved
            else "sum(dx) against the sum of the dy that reaches the input",
        ),
        lambda _: where_gradient_went(dx, reference_backward(dy64, x64, case, conventions)),
    )
    stray = (np.asarray(dx) != 0) & ~maxima_positions(case, x64, y, conventions)
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(
            f"dx{list(index)} = {dx[index]!r}, but x{list(index)} = {x[index]!r} is not the maximum of any "
            "window containing it: gradient may only flow to the element a window selected",
            where_gradient_went(dx, reference_backward(dy64, x64, case, conventions)),
        )


standard.register(SPEC, "backward.matches_torch")
standard.register(SPEC, "backward.contract")
