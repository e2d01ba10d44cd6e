"""Each case's expected outputs and tolerances, and PyTorch's second opinion on them.

Expected outputs are the reference's, computed in float64 from the case's
inputs.  Each comes with per element absolute tolerances
``atol = rtol * scale + normwise`` exactly as ``cnnref verify`` compares
(checks/compare.py): ``scale`` is the op applied to |operands|
(ops/<op>/scales.py), ``rtol`` depends on the dtype and on how many terms an
output sums, ``normwise`` is what FFT or Winograd rounding may add to each
output plane of a convolution.  A max is exact, so max_pool2d's atol is 0.
All of it comes from the op's spec (``cnnref.checks.standard``), whatever the op.

A half-format result (float16, bfloat16) is judged as ``cnnref verify`` judges
it by default: summed in float32 and rounded once to its format.  Its atol
adds half an ulp of the format at the element's largest possible magnitude
(docs/tolerances.md, "Half precision"), and an infinity of the right sign is
right where the exact value may reach the format's overflow threshold.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from .. import precision
from ..checks.compare import as_float64, compare
from ..checks.standard import OpSpec
from ..ops import OPS
from ..oracles import torch_autograd
from ..strategies.cases import Case

# The summation convention every expected half-format tolerance assumes (cnnref.precision).
ACCUMULATION = "float32"


@dataclass(frozen=True)
class Output:
    """One expected output: exact float64 values, and per element absolute tolerances.

    ``atol`` is what the corpus writes (the half format's rounding included);
    ``summed_atol`` is the float32 (or float64) sum's part alone, ``rtol * scale +
    normwise``, and ``overflow`` the half format's overflow threshold (None for the
    wide formats)."""

    name: str
    expected: np.ndarray | None
    summed_atol: np.ndarray | None
    rtol: float
    scale: str
    dtype: str

    @property
    def atol(self) -> np.ndarray | None:
        if self.expected is None or self.summed_atol is None:
            return None
        if not precision.is_half(self.dtype):
            return self.summed_atol
        return self.summed_atol + half_rounding(self.expected, self.summed_atol, self.dtype)

    @property
    def overflow(self) -> float | None:
        return precision.overflow_threshold(self.dtype) if precision.is_half(self.dtype) else None


def summed_atol(expected: np.ndarray, rtol: float, scale, normwise) -> np.ndarray:
    """``rtol * |scale| + |normwise|`` in ``expected``'s shape, as ``compare`` allows (a
    negative divisor_override makes avg_pool2d's scale negative)."""
    return np.zeros_like(expected) + rtol * np.abs(scale) + np.abs(normwise)


def half_rounding(expected: np.ndarray, summed_atol: np.ndarray, dtype: str) -> np.ndarray:
    """Half an ulp of ``dtype`` at the largest magnitude the float32 sum may reach: where
    the one rounding to the half format may move each element."""
    reach = np.where(np.isfinite(expected), np.abs(expected), 0.0) + summed_atol
    return precision.half_ulp(np.where(np.isfinite(reach), reach, 0.0), dtype)


@dataclass(frozen=True)
class OpVector:
    """One call: the op, its positional inputs (None for b=None) and what it returns."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[Output, ...]


def op_of(case: Case) -> str:
    """The op whose example ``case`` is: the op whose cases.py defines its class."""
    for op in OPS:
        if type(case).__module__ == f"cnnref.ops.{op}.cases":
            return op
    raise TypeError(f"{type(case).__name__} is no op's case")


def spec_of(op: str) -> OpSpec:
    """The spec ``op``'s properties are built from: the same tolerances as ``cnnref verify``."""
    return importlib.import_module(f"cnnref.ops.{op}.properties").SPEC


def vectors_of(case: Case) -> tuple[dict[str, np.ndarray | None], list[OpVector]]:
    """The case's inputs by name (as cnnref builds them), and its forward and backward calls,
    under PyTorch's conventions, half formats judged as summed in float32."""
    with precision.accumulating(ACCUMULATION):
        return _vectors_of(case)


def _vectors_of(case: Case) -> tuple[dict[str, np.ndarray | None], list[OpVector]]:
    spec = spec_of(op_of(case))
    conventions = spec.torch_conventions()
    *operands, dy = case.arrays()
    operands64 = as_float64(*operands)
    (dy64,) = as_float64(dy)
    present = [name for name, a in zip(spec.operands, operands) if a is not None]
    y = spec.reference_forward(case, conventions)(*operands64, **case.geometry)
    rtol = spec.rtol(case, "y")
    y_scale = spec.forward_scale(case, operands64, conventions)
    atol = summed_atol(y, rtol, y_scale, spec.forward_normwise(case, operands64))
    y_text = spec.scale_text("y", present)
    forward = OpVector(spec.op, spec.operands, (Output("y", y, atol, rtol, y_text, case.dtype),))
    gradients = spec.reference_backward(case, conventions)(dy64, *operands64, **case.geometry)
    if isinstance(gradients, np.ndarray):  # an op with one gradient
        gradients = (gradients,)
    scales = spec.backward_scales(case, dy64, operands64, conventions)
    normwise = spec.backward_normwise(case, dy64, operands64)
    outputs = []
    for name, value, scale in zip(spec.gradients, gradients, scales):
        rtol = spec.rtol(case, name)
        gradient_atol = (
            None if value is None else summed_atol(value, rtol, scale, normwise.get(name, 0.0))
        )
        text = spec.scale_text(name, present)
        outputs.append(Output(name, value, gradient_atol, rtol, text, case.dtype))
    backward = OpVector(spec.backward, ("dy", *spec.operands), tuple(outputs))
    return dict(zip(spec.operands, operands), dy=dy), [forward, backward]


# ---------------------------------------------------------------- PyTorch cross-check


def torch_disagreements(
    case: Case, inputs: dict[str, np.ndarray | None], ops: list[OpVector]
) -> list[str]:
    """Where PyTorch CPU's outputs fall outside the corpus's tolerances (none, normally).

    Half-format cases run PyTorch's float32 kernels on the same values, each result
    rounded once to the format: the convention the tolerances assume (PyTorch's own
    float16 backward sums in float16, docs/half-precision.md)."""
    forward = ops[0]
    operands = (inputs[name] for name in forward.inputs)
    dy = inputs["dy"]
    assert dy is not None  # every case has dy
    with_gradients = precision.through_float32(torch_autograd.with_gradients)
    y, *gradients = with_gradients(forward.op, dy, *operands, **case.geometry)
    found = []
    for op, actual in zip(ops, ([y], gradients)):
        for output, got in zip(op.outputs, actual):
            if output.expected is None or got is None or output.summed_atol is None:
                continue
            if np.shape(got) != output.expected.shape:
                found.append(
                    f"{op.op} {output.name}: shape {np.shape(got)}, not {output.expected.shape}"
                )
                continue
            # compare adds the half format's rounding, as the written atol does.
            comparison = compare(
                got, output.expected, scale=output.summed_atol, rtol=1.0, name=output.name
            )
            if not comparison.passed:
                worst = "; ".join(line.strip() for line in comparison.describe().splitlines()[:2])
                found.append(f"{op.op} {worst}")  # one line: the count and the worst element
    return found


def torch_version() -> str | None:
    if not torch_autograd.torch_available():
        return None
    import torch

    return torch.__version__
