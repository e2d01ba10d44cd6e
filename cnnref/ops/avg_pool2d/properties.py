"""The properties of avg_pool2d and avg_pool2d_backward, the standard ones built from ``SPEC``
(cnnref/checks/standard.py).

avg_pool2d is linear in x: each output is a sum of inputs times 1/divisor.
So its tolerances are those of a sum (the scale is the op applied to |x|, or
the backward to |dY|), central finite differences are exact for any step,
and the backward is the forward's adjoint.
"""

from __future__ import annotations

from functools import partial

from ...checks import contract, standard
from ...checks.standard import OpSpec
from ...strategies import DY_VALUES, SIZE_CLASSES
from .cases import X_VALUES, AvgPoolCase, avg_pool_cases
from .hints import backward_hints, forward_hints, shape_hints
from .scales import avg_pool2d_backward_scale, avg_pool2d_scale


def summed_terms(case: AvgPoolCase) -> dict[str, int]:
    """How many terms an output (a window's sum, then a division) or an element of dx (a share
    from each window that reads it) adds up: sets the float32 tolerance."""
    kh, kw = case.kernel_size
    return {"y": kh * kw + 1, "dx": kh * kw + 1}


class AvgPool2dSpec(OpSpec):
    op = "avg_pool2d"
    finite_backward_when = "a finite dy"
    scale = staticmethod(avg_pool2d_scale)
    gradient_scales = staticmethod(avg_pool2d_backward_scale)

    def summed_terms(self, case):
        return summed_terms(case)

    def shape_hints(self, case, wrong):
        return shape_hints(case, wrong)

    def forward_hints(self, case, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(forward_hints, case, x, expected, actual, scale)

    def backward_hints(self, case, name, dy64, operands64, expected, actual, scale, conventions):
        (x,) = operands64
        return partial(backward_hints, case, x, dy64, expected, actual, scale)

    def check_forward_output(self, candidate, case, operands, y):
        if case.x_values == "finite":
            contract.require_finite([y], self.op, "finite inputs")


SPEC = AvgPool2dSpec()


def _cases(dy_values=("finite",), x_values=("finite",)):
    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",
        sizes=SIZE_CLASSES,
    ):
        return avg_pool_cases(
            dtype=dtype,
            unsupported=unsupported,
            windows=windows,
            dy_values=dy_values,
            sizes=sizes,
            x_values=x_values,
        )

    return cases


FORWARD = (
    "Y[n,c,p,q] = sum over (i,j) with (p*s + i - pad, q*s + j - pad) in x of "
    "X[n, c, p*s + i - pad, q*s + j - pad] / divisor(p, q)"
)
DIVISORS = (
    "divisor = divisor_override, else the window's positions inside the padded input "
    "(count_include_pad), else its elements inside x"
)
BACKWARD = "dX[u,v] = sum over the windows (p,q) that read (u,v) of dY[p,q] / divisor(p, q)"


standard.register(
    SPEC,
    "matches_reference",
    summary="avg_pool2d agrees with cnnref's reference element by element: padding, ceil_mode's last window, count_include_pad and divisor_override included, and NaN and inf in x reach only the windows that hold them.",
    formula=f"{FORWARD};  {DIVISORS}",
    cases=_cases(x_values=X_VALUES),
)
standard.register(
    SPEC,
    "matches_torch",
    summary="avg_pool2d agrees with torch.nn.functional.avg_pool2d, NaN and inf included.",
    formula=FORWARD,
    cases=_cases(x_values=X_VALUES),
)
standard.register(
    SPEC,
    "contract",
    summary="avg_pool2d returns a new ndarray of the right shape and dtype, finite for finite inputs, the same on every call, and leaves its input alone (x with NaN and inf included).",
    formula="dtype(Y) = dtype(X)",
    cases=_cases(x_values=X_VALUES),
)
standard.register(
    SPEC,
    "backward.matches_reference",
    summary="dx agrees with cnnref's reference: each window's dY / divisor added to every element it read (NaN and inf in dy reach only those).",
    formula=f"{BACKWARD};  {DIVISORS}",
    cases=_cases(dy_values=DY_VALUES),
)
standard.register(
    SPEC,
    "backward.finite_differences",
    summary="dx agrees with central finite differences of the candidate's own avg_pool2d (the reference's if it has none), on examples where that avg_pool2d matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    formula="<dL/dX, v> = d/dt <avg_pool2d(X + t v), dY>",
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.adjointness",
    summary="The gradient is the adjoint of the forward: <avg_pool2d(x), g> = <x, dX(g)>.",
    formula="<avg_pool2d(X), G> = <X, dX(G)>",
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.matches_torch",
    summary="dx agrees with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(dy_values=DY_VALUES),
)
standard.register(
    SPEC,
    "backward.contract",
    summary="avg_pool2d_backward returns a new ndarray of x's shape and the right dtype, finite for a finite dy, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype(dX) = result_type(dY, X)",
    cases=_cases(dy_values=DY_VALUES),
)
