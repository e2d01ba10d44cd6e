"""The properties of adaptive_max_pool2d and adaptive_max_pool2d_backward: the standard ones
built from ``SPEC`` (cnnref/checks/standard.py), and routing, its own: dL/dY is conserved and
reaches only elements that are a maximum of a window holding them, ties across overlapping
windows included."""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...checks import standard
from ...checks.base import Candidate, Evidence, Falsified, claim
from ...checks.compare import compare, rtol_for, unit_roundoff
from ...checks.hints import pool_backward_hints, where_gradient_went
from ...checks.standard import MaxPoolSpec
from ..adaptive_avg_pool2d.cases import AdaptivePoolCase
from ..adaptive_avg_pool2d.literal import window
from ..adaptive_avg_pool2d.properties import longest_window
from . import hints
from .cases import AdaptiveMaxPoolCase, adaptive_max_pool_cases
from .hints import forward_hints
from .scales import adaptive_max_pool2d_backward_scale


def summed_terms(case: AdaptivePoolCase) -> dict[str, int]:
    """A maximum sums nothing; an element of dx sums the dY of the cells that select it."""
    (oh, ow), (height, width) = case.y_shape[2:], case.x_shape[2:]
    cells = longest_window(height, oh) * longest_window(width, ow)
    return {"y": 1, "dx": cells}


WINDOWS = "cell i of O over a side n reads floor(i*n/O) <= u < ceil((i+1)*n/O)"
FORWARD = f"Y[n,c,p,q] = max of X[n,c,u,v] over the window of cell (p,q);  {WINDOWS}"
BACKWARD = "dX[u,v] = sum of dY over the cells whose window selects (u,v): its last NaN, else its first maximum"


class AdaptiveMaxPool2dSpec(MaxPoolSpec):
    """A maximum selects an element: y must be exact, NaN and the sign of zero included."""

    op = "adaptive_max_pool2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    reference_covers = (
        "NaN, -inf and the sign of zero included, over windows of varying size that overlap "
        "unevenly"
    )
    overlaps = "and the dY of overlapping windows that select one element added up"
    summed_terms = staticmethod(summed_terms)
    hints = hints
    strategy = staticmethod(adaptive_max_pool_cases)
    takes_windows = False

    def backward_scales(self, case, dy64, operands64, conventions):
        (x,) = operands64
        return (adaptive_max_pool2d_backward_scale(dy64, x, **case.geometry),)

    def forward_hints(self, case, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(forward_hints, case, x, expected, actual)

    def backward_hints(self, case, name, dy64, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(
            pool_backward_hints, hints, case, x, dy64, expected, actual, scale, sums=False
        )

    def reference_y(self, case, x, conventions):
        return reference.adaptive_max_pool2d(x, **case.geometry)


SPEC = AdaptiveMaxPool2dSpec()

standard.register_each(SPEC, standard.FORWARD_CHECKS)
standard.register_each(SPEC, ("backward.matches_reference", "backward.finite_differences"))


@claim(
    "adaptive_max_pool2d_backward.routing",
    summary="The gradient is conserved (sum dx = sum dy) and reaches only elements that are the maximum (or a NaN) of a window holding them, ties across overlapping windows included.",
    formula="sum dX = sum dY;  dX[u,v] != 0  =>  X[u,v] = max of a window holding (u,v)",
    cases=SPEC.draw(values=("ties", "nan", "neginf"), dy_values=("finite",)),
    calls=("adaptive_max_pool2d",),
)
def backward_routing(candidate: Candidate, case: AdaptiveMaxPoolCase, evidence: Evidence) -> None:
    """sum(dx) = sum(dy), and dx is non-zero only at a maximum of a window holding it."""
    x, dy = case.arrays()
    SPEC.trusted_forward(candidate, case)  # NotChecked where the candidate's forward is wrong here
    (dx,) = SPEC.call_backward(candidate, case, dy, x)
    dy64, x64 = np.asarray(dy, np.float64), np.asarray(x, np.float64)
    expected = reference.adaptive_max_pool2d_backward(dy64, x64, **case.geometry)
    evidence.require(
        compare(
            np.array(float(np.sum(np.asarray(dx, np.float64)))),
            np.array(float(dy64.sum())),
            scale=float(np.abs(dy64).sum()),
            # The sum's own rounding, and each element of dx rounded once to the case's dtype.
            rtol=rtol_for(case.dtype, dy.size) + unit_roundoff(case.dtype),
            name="sum(dx) against sum(dy)",
        ),
        lambda _: where_gradient_went(dx, expected),
    )
    stray = (np.asarray(dx) != 0) & ~window_maxima(x64, case.y_shape[2:])
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(
            f"dx{list(index)} = {dx[index]!r}, but x{list(index)} = {x[index]!r} is not the "
            "maximum of any window holding it: gradient may only reach an element a window "
            "selected",
            where_gradient_went(dx, expected),
        )


def window_maxima(x: np.ndarray, out_size: tuple[int, ...]) -> np.ndarray:
    """Where an element equals the maximum (or is a NaN, where NaN is the maximum) of a window
    holding it."""
    (height, width), (oh, ow) = x.shape[2:], out_size
    found = np.zeros(x.shape, dtype=bool)
    for i, j in np.ndindex(oh, ow):
        rows, cols = window(i, oh, height), window(j, ow, width)
        block = x[:, :, rows.start : rows.stop, cols.start : cols.stop]
        nan = np.isnan(block).any(axis=(2, 3), keepdims=True)
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(block), -np.inf, block), axis=(2, 3), keepdims=True)
        found[:, :, rows.start : rows.stop, cols.start : cols.stop] |= np.where(
            nan, np.isnan(block), block == top
        )
    return found


standard.register_each(SPEC, ("backward.matches_torch", "backward.contract"))
