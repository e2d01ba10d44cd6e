"""cnnref.adapters: a layer as it is written (autograd forwards, CS231n pairs), verified as it is.

Each verification is pinned (a few examples, a few properties, seed 0) to
stay fast; the planted bugs run on one chosen example each (check_example).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnref.adapters import as_array, cs231n_pool, torch_forward
from cnnref.strategies import ConvCase, PoolCase
from cnnref.verify import check_example, verify
from tests.candidates import cs231n
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
PINNED = {"examples": 8, "seed": 0}


def _all_passed(result, properties):
    statuses = {p.name: p.status for p in result.properties}
    assert result.passed, result.explain()
    assert statuses == dict.fromkeys(properties, "passed"), statuses


def test_torch_forwards_get_their_backwards_from_autograd(torch_required) -> None:
    properties = [
        "conv2d.matches_reference",
        "conv2d.contract",
        "conv2d_backward.matches_reference",
        "conv2d_backward.contract",
        "max_pool2d_backward.matches_reference",
        "max_pool2d_backward.contract",
    ]
    result = verify("tests.candidates.adapted:torch_functions", properties=properties, **PINNED)
    _all_passed(result, properties)


def test_torch_module_classes_are_built_per_call_with_cnnrefs_weights(torch_required) -> None:
    properties = ["conv2d_backward.matches_reference", "max_pool2d_backward.matches_reference"]
    result = verify("tests.candidates.adapted:torch_modules", properties=properties, **PINNED)
    _all_passed(result, properties)


def test_a_cs231n_pair_passes_with_what_it_cannot_express_declared() -> None:
    properties = [
        "conv2d.bias_linearity",  # b=None becomes zeros: the bias path is still checked
        "conv2d_backward.matches_reference",
        "conv2d_backward.contract",
    ]
    conv = verify("tests.candidates.cs231n:convolution", properties=properties, **PINNED)
    _all_passed(conv, properties)
    assert conv.settings["unsupported"] == [
        "bfloat16",
        "dilation",
        "float16",
        "groups",
        "non_square_geometry",
    ]

    properties = ["max_pool2d.matches_reference", "max_pool2d_backward.matches_reference"]
    pool = verify("tests.candidates.cs231n:pooling", properties=properties, **PINNED)
    _all_passed(pool, properties)
    assert pool.settings["unsupported"] == [
        "bfloat16",
        "ceil_mode",
        "dilation",
        "float16",
        "non_square_geometry",
        "pool_padding",
    ]


def test_the_generic_hook_drives_a_hand_rolled_autograd_library() -> None:
    properties = [
        "conv2d_backward.matches_reference",
        "max_pool2d.contract",
        "max_pool2d_backward.matches_reference",
    ]
    result = verify("tests.candidates.tiny_autograd:layers", properties=properties, **PINNED)
    _all_passed(result, properties)
    assert "groups" in result.settings["unsupported"]  # unsupported= reached the verifier


def test_a_planted_tie_splitting_pool_is_caught_through_the_torch_adapter(torch_required) -> None:
    case = PoolCase(
        batch=1, channels=1, height=1, width=2, kernel_size=(1, 2), values="ties", seed=1
    )
    first, second = case.arrays().x.ravel()
    assert first == second, "the example must hold a tie"
    with pytest.raises(AssertionError, match="matches the convention ties='split'"):
        check_example(
            "tests.candidates.adapted:torch_ties_split",
            "max_pool2d_backward.matches_reference",
            case,
        )
    check_example(
        "tests.candidates.adapted:torch_functions", "max_pool2d_backward.matches_reference", case
    )


def test_a_planted_true_convolution_is_caught_through_the_cs231n_adapter() -> None:
    case = ConvCase(batch=1, in_channels=1, out_channels=1, height=3, width=3, kernel_size=(2, 2))
    with pytest.raises(AssertionError, match=r"conv2d\.matches_reference"):
        check_example("tests.candidates.cs231n:true_convolution", "conv2d.matches_reference", case)
    check_example("tests.candidates.cs231n:convolution", "conv2d.matches_reference", case)


def test_a_library_that_copies_its_inputs_still_shows_an_in_place_change() -> None:
    case = PoolCase(batch=1, channels=1, height=2, width=2, kernel_size=(2, 2))
    with pytest.raises(AssertionError, match="modified its argument 1 in place"):
        check_example("tests.candidates.tiny_autograd:mutating", "max_pool2d.contract", case)
    check_example("tests.candidates.tiny_autograd:copying", "max_pool2d.contract", case)


def test_a_torch_result_that_is_its_input_is_reported(torch_required) -> None:
    case = PoolCase(batch=1, channels=2, height=3, width=3, kernel_size=(1, 1))
    with pytest.raises(AssertionError, match="shares memory with its input 1"):
        check_example("tests.candidates.adapted:torch_returns_input", "max_pool2d.contract", case)


def test_a_result_of_the_wrong_dtype_keeps_it_through_coercion(torch_required) -> None:
    case = ConvCase(batch=1, in_channels=1, out_channels=1, height=3, width=3, kernel_size=(2, 2))
    with pytest.raises(AssertionError, match="dtype float32; expected float64"):
        check_example("tests.candidates.adapted:torch_float32", "conv2d.contract", case)


def test_verify_names_an_adapter_bound_at_module_level() -> None:
    result = verify(cs231n.pooling, properties=["max_pool2d.matches_reference"], examples=3)
    assert result.candidate == "tests.candidates.cs231n:pooling"
    assert result.passed, result.explain()


def test_an_unbound_adapter_needs_isolate_false() -> None:
    local = cs231n_pool(cs231n.max_pool_forward, cs231n.max_pool_backward)
    with pytest.raises(TypeError, match="isolate=False"):
        verify(local, examples=1)
    result = verify(local, properties=["max_pool2d.matches_reference"], examples=3, isolate=False)
    assert result.passed, result.explain()


def test_the_cli_takes_an_adapter_object() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cnnref", "verify", "--impl", "tests.candidates.cs231n:pooling",
         "--property", "max_pool2d_backward.matches_reference", "--examples", "5", "--seed", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "max_pool2d_backward.matches_reference" in run.stdout


def test_a_cs231n_pair_refuses_what_it_cannot_express() -> None:
    x, w = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match="one stride for both axes; got \\(1, 2\\)"):
        cs231n.convolution.conv2d(x, w, stride=(1, 2))
    with pytest.raises(ValueError, match="no dilation or groups"):
        cs231n.convolution.conv2d(x, w, dilation=(2, 2))
    with pytest.raises(ValueError, match="no padding, dilation or ceil_mode"):
        cs231n.pooling.max_pool2d(x, (2, 2), ceil_mode=True)
    with pytest.raises(ValueError, match="one stride for both axes"):
        cs231n.pooling.max_pool2d(x, (1, 2))  # stride=None means the kernel's (1, 2)


class _OnlyDlpack:
    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


class _OnlyNumpyMethod:
    def __init__(self, array):
        self._array = array

    def numpy(self):
        return self._array


def test_as_array_converts_array_likes_without_copying() -> None:
    array = np.arange(6.0).reshape(2, 3)
    assert as_array(array) is array
    for wrapped in (_OnlyDlpack(array), _OnlyNumpyMethod(array)):
        converted = as_array(wrapped)
        assert isinstance(converted, np.ndarray)
        assert np.shares_memory(converted, array)  # an aliased result stays visible as one
    assert as_array(np.float32(2.0)).dtype == np.float32
    assert as_array([1.0, 2.0]) == [1.0, 2.0]  # not array-like: the contract check names it
    assert as_array(None) is None


def test_as_array_reads_cpu_tensors_in_place(torch_required) -> None:
    import torch

    tensor = torch.arange(4.0, dtype=torch.float64)
    assert np.shares_memory(as_array(tensor), tensor.numpy())
    needs_grad = tensor.clone().requires_grad_()
    with pytest.raises(TypeError, match=r"cannot read Tensor as a NumPy array .*requires grad"):
        as_array(needs_grad)  # torch refuses, and says why; the adapter detaches first
    adapted = torch_forward(max_pool2d=torch.nn.functional.max_pool2d)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert adapted.max_pool2d(x, (2, 2)).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


@pytest.fixture
def jax_required() -> None:
    require(importlib.util.find_spec("jax") is not None, "jax (pip install 'jax[cpu]')")


def test_jax_forwards_get_their_backwards_from_jax_vjp(jax_required) -> None:
    properties = ["conv2d.contract", "conv2d_backward.matches_reference"]
    result = verify("tests.candidates.jax_backed:layers", properties=properties, examples=5, seed=0)
    _all_passed(result, properties)  # float64 stays float64: the adapter turned on jax_enable_x64


def test_declarations_belong_to_the_object() -> None:
    pool = cs231n_pool(
        cs231n.max_pool_forward,
        cs231n.max_pool_backward,
        unsupported={"nan"},
        conventions={"ties": "split"},
    )
    assert sorted(pool.CNNREF_UNSUPPORTED) == [
        "ceil_mode",
        "dilation",
        "nan",
        "non_square_geometry",
        "pool_padding",
    ]
    assert pool.CNNREF_CONVENTIONS == {"ties": "split"}
    assert not hasattr(cs231n.pooling, "CNNREF_CONVENTIONS")
    assert not hasattr(pool, "conv2d")  # only what was adapted is exposed
    with pytest.raises(ValueError, match="give at least one function"):
        torch_forward()
