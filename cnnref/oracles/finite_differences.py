"""Central finite differences: the oracle that needs nothing but the forward pass.

For a scalar loss ``L(x) = <f(x), dy>`` the gradient a backward pass returns
is ``dL/dx``.  Central differences estimate it to O(eps**2); for a function
that is linear in ``x`` (conv in x or in w) they are exact up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Evaluates the forward at each of a list of points, in order (one call each): a
# candidate's process gets them in one request.
Forward = Callable[[list[np.ndarray]], list[np.ndarray]]


def pointwise(f: Callable[[np.ndarray], np.ndarray]) -> Forward:
    """A ``Forward`` from a function of one point."""
    return lambda points: [f(point) for point in points]


# The verifier takes full Jacobians of operands up to this size, and this many
# random projections of larger ones.
FULL_JACOBIAN_LIMIT = 48
PROJECTIONS = 2


def numerical_gradient(f: Forward, x: np.ndarray, dy: np.ndarray, *, eps: float) -> np.ndarray:
    """The full gradient of ``<f(x), dy>`` with respect to ``x``, one element at a time.

    Costs two evaluations of the forward per element of ``x``: use it on small shapes.
    """
    points = []
    for index in np.ndindex(x.shape):
        for step in (eps, -eps):
            point = np.array(x)  # a copy of x's dtype and layout, one element moved
            point[index] = x[index] + step
            points.append(point)
    losses = _losses(f, points, dy).reshape(*x.shape, 2)
    return (losses[..., 0] - losses[..., 1]) / (2 * eps)


def directional_derivative(
    f: Forward, x: np.ndarray, dy: np.ndarray, direction: np.ndarray, *, eps: float
) -> float:
    """d/dt <f(x + t*direction), dy> at t = 0, which must equal <dL/dx, direction>.

    Two calls of ``f`` whatever the size of ``x``: use it on large shapes,
    with random signed directions.
    """
    x = np.asarray(x)
    points = [(x + eps * direction).astype(x.dtype), (x - eps * direction).astype(x.dtype)]
    above, below = _losses(f, points, dy)
    return float(above - below) / (2 * eps)


def _losses(f: Forward, points: list[np.ndarray], dy: np.ndarray) -> np.ndarray:
    """<f(point), dy> for each point."""
    return np.array([np.vdot(np.asarray(y, dtype=np.float64), dy) for y in f(points)])
