"""Each case's expected outputs and tolerances, and PyTorch's second opinion on them.

Expected outputs are the reference's, computed in float64 from the case's
inputs.  Each comes with per element absolute tolerances
``atol = rtol * scale + normwise`` exactly as ``cnnref verify`` compares
(checks/compare.py): ``scale`` is the op applied to |operands|
(ops/<op>/scales.py), ``rtol`` depends on the dtype and on how many terms an
output sums, ``normwise`` is what FFT or Winograd rounding may add to each
output plane of a convolution.  A max is exact, so max_pool2d's atol is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import reference
from ..checks.compare import compare, rtol_for
from ..ops.conv2d.cases import ConvCase
from ..ops.conv2d.properties import backward_normwise, forward_normwise
from ..ops.conv2d.properties import summed_terms as conv_terms
from ..ops.conv2d.scales import conv2d_backward_scales, conv2d_scale
from ..ops.max_pool2d.cases import MaxPoolCase
from ..ops.max_pool2d.scales import max_pool2d_backward_scale
from ..oracles import torch_autograd


@dataclass(frozen=True)
class Output:
    """One expected output: float64 values, and per element absolute tolerances."""

    name: str
    expected: np.ndarray | None
    atol: np.ndarray | None
    rtol: float
    scale: str


@dataclass(frozen=True)
class OpVector:
    """One call: the op, its positional inputs (None for b=None) and what it returns."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[Output, ...]


def conv_vectors(case: ConvCase) -> tuple[dict[str, np.ndarray | None], list[OpVector]]:
    """The case's inputs by name (as cnnref builds them), and its conv2d and conv2d_backward."""
    x, w, b, dy = case.arrays()
    x64, w64, dy64 = (np.asarray(a, np.float64) for a in (x, w, dy))
    b64 = None if b is None else np.asarray(b, np.float64)
    terms = conv_terms(case)
    rtol = {name: rtol_for(case.dtype, count) for name, count in terms.items()}
    y = reference.conv2d(x64, w64, b64, **case.geometry)
    y_scale = conv2d_scale(x64, w64, b64, **case.geometry)
    gradients = reference.conv2d_backward(dy64, x64, w64, b64, **case.geometry)
    scales = conv2d_backward_scales(dy64, x64, w64, b64, **case.geometry)
    normwise = {"y": forward_normwise(case, x64, w64), **backward_normwise(case, dy64, x64, w64)}
    abs_operands = ", |b|" if b is not None else ""
    forward = OpVector(
        "conv2d",
        ("x", "w", "b"),
        (
            Output(
                "y",
                y,
                rtol["y"] * y_scale + normwise["y"],
                rtol["y"],
                f"conv2d(|x|, |w|{abs_operands})",
            ),
        ),
    )
    backward = OpVector(
        "conv2d_backward",
        ("dy", "x", "w", "b"),
        tuple(
            Output(
                name,
                value,
                None if value is None else rtol[name] * scale + normwise[name],
                rtol[name],
                f"{name} of conv2d_backward(|dy|, |x|, |w|{abs_operands})",
            )
            for name, value, scale in zip(("dx", "dw", "db"), gradients, scales)
        ),
    )
    return {"x": x, "w": w, "b": b, "dy": dy}, [forward, backward]


def pool_vectors(case: MaxPoolCase) -> tuple[dict[str, np.ndarray | None], list[OpVector]]:
    """The case's inputs by name, and its max_pool2d and max_pool2d_backward."""
    x, dy = case.arrays()
    x64, dy64 = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    y = reference.max_pool2d(x64, **case.geometry)
    dx = reference.max_pool2d_backward(dy64, x64, **case.geometry)
    rtol = rtol_for(case.dtype, int(np.prod(case.kernel_size)))  # windows that can overlap
    scale = max_pool2d_backward_scale(dy64, x64, **case.geometry)
    forward = OpVector("max_pool2d", ("x",), (Output("y", y, np.zeros_like(y), 0.0, "exact"),))
    backward = OpVector(
        "max_pool2d_backward",
        ("dy", "x"),
        (Output("dx", dx, rtol * scale, rtol, "max_pool2d_backward(|dy|, x)"),),
    )
    return {"x": x, "dy": dy}, [forward, backward]


def vectors_of(case: ConvCase | MaxPoolCase):
    return conv_vectors(case) if isinstance(case, ConvCase) else pool_vectors(case)


# ---------------------------------------------------------------- PyTorch cross-check


def torch_disagreements(
    case: ConvCase | MaxPoolCase, inputs: dict[str, np.ndarray | None], ops: list[OpVector]
) -> list[str]:
    """Where PyTorch CPU's outputs fall outside the corpus's tolerances (none, normally)."""
    if isinstance(case, ConvCase):
        y, *gradients = torch_autograd.with_gradients(
            "conv2d", inputs["dy"], inputs["x"], inputs["w"], inputs["b"], **case.geometry
        )
    else:
        y, dx = torch_autograd.with_gradients(
            "max_pool2d", inputs["dy"], inputs["x"], **case.geometry
        )
        gradients = [dx]
    found = []
    for op, actual in zip(ops, ([y], gradients)):
        for output, got in zip(op.outputs, actual):
            if output.expected is None:
                continue
            if np.shape(got) != output.expected.shape:
                found.append(
                    f"{op.op} {output.name}: shape {np.shape(got)}, not {output.expected.shape}"
                )
                continue
            comparison = compare(
                got, output.expected, scale=output.atol, rtol=1.0, name=output.name
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
