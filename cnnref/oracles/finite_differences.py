"""Central finite differences: the oracle that needs nothing but the forward pass.

For a scalar loss ``L(x) = <f(x), dy>`` the gradient a backward pass returns
is ``dL/dx``.  Central differences estimate it to O(eps**2); for a function
that is linear in ``x`` (conv in x or in w) they are exact up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]

# The verifier takes full Jacobians of operands up to this size, and this many
# random projections of larger ones.
FULL_JACOBIAN_LIMIT = 48
PROJECTIONS = 2


def numerical_gradient(f: Forward, x: np.ndarray, dy: np.ndarray, *, eps: float) -> np.ndarray:
    """The full gradient of ``<f(x), dy>`` with respect to ``x``, one element at a time.

    Costs two calls of ``f`` per element of ``x``: use it on small shapes.
    """
    x = np.array(x)  # a private copy: perturbed in place below
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = _loss(f, x, dy)
        x[index] = original - eps
        below = _loss(f, x, dy)
        x[index] = original
        gradient[index] = (above - below) / (2 * eps)
    return gradient


def directional_derivative(
    f: Forward, x: np.ndarray, dy: np.ndarray, direction: np.ndarray, *, eps: float
) -> float:
    """d/dt <f(x + t*direction), dy> at t = 0, which must equal <dL/dx, direction>.

    Two calls of ``f`` whatever the size of ``x``: use it on large shapes,
    with random signed directions.
    """
    x = np.asarray(x)
    above = _loss(f, (x + eps * direction).astype(x.dtype), dy)
    below = _loss(f, (x - eps * direction).astype(x.dtype), dy)
    return (above - below) / (2 * eps)


def _loss(f: Forward, x: np.ndarray, dy: np.ndarray) -> float:
    return float(np.vdot(np.asarray(f(x), dtype=np.float64), dy))
