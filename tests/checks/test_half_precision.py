"""float16 and bfloat16: the derived bound passes correct kernels, and each low-precision bug
is caught by a default run (every dtype drawn, seed 0, ``--ops FUNCTION -x``) and named."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from cnnref.properties.compare import compare, rtol_for

import cnnref
from cnnref.precision import BFLOAT16, half_ulp, overflow_threshold
from cnnref.strategies import ConvCase, PoolCase
from cnnref.strategies.cases import magnitude
from cnnref.verify import VerificationResult, verify
from tests.candidates.half_precision import BUGS
from tests.support.catalogue import failed_first_at

TARGET = "tests.candidates.half_precision"

# bug -> (the property pinned to catch it, a phrase its hint or explanation must hold)
CAUGHT = {
    "half_accumulation": ("conv2d.matches_reference", "sum is accumulated in float16"),
    "bfloat16_truncation": ("conv2d.matches_reference", "truncated to bfloat16"),
    "avg_pool_sum_overflow": ("avg_pool2d.matches_torch", "overflowed to inf"),
    "dw_half_over_batch": ("conv2d_backward.matches_reference", "one batch item at a time"),
    "float32_output": ("conv2d.contract", "dtype float32; expected float16"),
    "half_ties_last": ("max_pool2d_backward.matches_reference", "FIRST maximum"),
}


@functools.cache
def caught(bug: str) -> VerificationResult:
    function = CAUGHT[bug][0].split(".")[0]
    return verify(f"{TARGET}:{bug}", ops=[function], exitfirst=True, seed=0)


def test_every_bug_is_pinned() -> None:
    assert set(CAUGHT) == set(BUGS)


@pytest.mark.parametrize("bug", sorted(BUGS))
@pytest.mark.slow
def test_a_default_run_catches_the_bug_and_names_it(bug: str) -> None:
    prop, phrase = CAUGHT[bug]
    failed = failed_first_at(caught(bug), prop, f"{bug} ({BUGS[bug][1]})")
    assert phrase in failed.explain(), failed.explain()


# The properties that judge values; the identities are not checked in half formats.
VALUES = [
    "conv2d.matches_reference",
    "conv2d.matches_torch",
    "conv2d_backward.matches_reference",
    "max_pool2d.matches_reference",
    "max_pool2d_backward.matches_reference",
    "avg_pool2d.matches_reference",
    "avg_pool2d_backward.matches_reference",
]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("kernel", ["im2col_float32", "direct_loop"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.slow
def test_float32_accumulating_kernels_pass(kernel: str, dtype: str, seed: int) -> None:
    result = verify(
        f"{TARGET}:{kernel}", properties=VALUES, examples=25, seed=seed, dtype=dtype, isolate=False
    )
    assert result.passed, result.explain()
    assert all(p.status == "passed" for p in result.properties), result.explain()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.slow
def test_pytorch_cpu_passes_under_its_declared_accumulation(torch_required, dtype, seed) -> None:
    properties = [p for p in VALUES if not p.startswith("avg_pool2d")]  # the adapter has none
    properties += ["conv2d_backward.matches_torch", "max_pool2d_backward.matches_torch"]
    # In this process, where PyTorch is loaded already: what is judged is the bound, not the fence.
    result = verify(
        f"{TARGET}:torch_cpu",
        properties=properties,
        examples=25,
        seed=seed,
        dtype=dtype,
        isolate=False,
    )
    assert result.passed, result.explain()


@pytest.mark.slow
def test_pytorch_cpu_float16_backward_fails_one_rounding_by_name(torch_required) -> None:
    """Without its declaration, PyTorch CPU's float16 backward is judged as summing in
    float32, and it does not: its partial sums are rounded to float16."""
    import torch.nn.functional as F

    from cnnref.adapters import torch_forward

    layers = torch_forward(conv2d=F.conv2d)
    result = verify(
        layers,
        properties=["conv2d_backward.matches_reference"],
        dtype="float16",
        seed=0,
        isolate=False,
    )
    assert not result.passed
    assert "accumulated in float16" in result.explain() or "batch item" in result.explain()


def test_the_bound_is_half_an_ulp_plus_the_float32_term() -> None:
    expected = np.array([1.0 + 2.0**-11, 3.0, 0.0])  # a tie, a value, nothing summed
    scale = np.array([2.0, 3.0, 0.0])
    rtol = rtol_for("float16", 9)
    comparison = compare(expected.astype(np.float16), expected, scale=scale, rtol=rtol, name="y")
    assert comparison.passed
    # One more ulp is past it, at each magnitude.
    off = expected + 2 * half_ulp(np.abs(expected), "float16")
    assert (
        compare(off.astype(np.float16), expected, scale=scale, rtol=rtol, name="y").n_mismatched
        == 3
    )


def test_an_infinity_is_right_only_from_the_overflow_threshold() -> None:
    threshold = overflow_threshold("float16")
    assert threshold == 65520.0
    expected = np.array([65519.0, 65521.0, 60000.0])
    with np.errstate(over="ignore"):
        actual = expected.astype(np.float16)  # 65504, inf, 60000
    assert np.isinf(actual[1])
    assert compare(actual, expected, scale=expected, rtol=0.0, name="y").passed
    wrong = np.array([65504.0, 65504.0, np.inf], np.float16)
    assert compare(wrong, expected, scale=expected, rtol=0.0, name="y").n_mismatched == 2


def test_the_reference_sums_half_inputs_in_float32_and_rounds_once() -> None:
    case = ConvCase(1, 300, 2, 3, 3, (3, 3), dtype="bfloat16", seed=4)
    x, w, b, _ = case.arrays()
    y = cnnref.conv2d(x, w, b)
    assert y.dtype == BFLOAT16
    exact = cnnref.conv2d(*(a.astype(np.float64) for a in (x, w, b)))
    assert np.array_equal(y, exact.astype(np.float32).astype(BFLOAT16))


def test_half_draws_reach_overflow_subnormals_and_rounded_ties() -> None:
    near = PoolCase(1, 1, 8, 8, (2, 2), dtype="float16", seed=1).arrays().x
    assert 2.0**14 < np.max(np.abs(near.astype(np.float64))) <= 65504
    tiny = PoolCase(1, 1, 8, 8, (2, 2), dtype="float16", seed=2).arrays().x.astype(np.float64)
    assert np.max(np.abs(tiny)) < 2.0**-12 and np.any((tiny != 0) & (np.abs(tiny) < 2.0**-14))
    # bfloat16's subnormals are float32's, which flush-to-zero hardware flushes: not drawn.
    assert {magnitude("bfloat16", seed) for seed in range(6)} == {"normal"}
    # Distinct multiples of 1/8 in float64, tied once rounded to bfloat16's 8 bits.
    large = PoolCase(1, 1, 40, 40, (2, 2), dtype="bfloat16", seed=0).arrays().x
    assert np.unique(large).size < large.size
