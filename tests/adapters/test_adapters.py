"""cnnref.adapters: a layer as it is written (autograd forwards, CS231n pairs), verified as it is.

Each verification is pinned (a few examples, a few properties, seed 0) to
stay fast; the planted bugs run on one chosen example each (check_example).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cnnref.adapters import as_array, cs231n_pool, from_vjp, torch_forward
from cnnref.ops import OPS
from cnnref.strategies import ConvCase, PoolCase
from cnnref.verify import check_example, verify
from tests.candidates import cs231n
from tests.conftest import require
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # verifies candidates through PyTorch and JAX

ROOT = Path(__file__).resolve().parents[2]
PINNED = {"examples": 8, "seed": 0}
# The PyTorch-backed adapters run in this process, where PyTorch is loaded already (a second
# saved per run): what is judged is the adapter, and `cnnref verify --impl module:object`
# runs one in its own process in test_the_cli_takes_an_adapter_object.
IN_PROCESS = PINNED | {"isolate": False}


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
    result = verify("tests.candidates.adapted:torch_functions", properties=properties, **IN_PROCESS)
    _all_passed(result, properties)


def test_the_forward_adapters_adapt_every_op_of_the_registry(torch_required) -> None:
    properties = [
        name for op in OPS for name in (f"{op}.contract", f"{op}_backward.matches_reference")
    ]
    result = verify("tests.candidates.adapted:torch_every_op", properties=properties, **IN_PROCESS)
    _all_passed(result, properties)


def test_an_adapter_refuses_a_name_that_is_no_op() -> None:
    with pytest.raises(TypeError, match=r"no op is called \['conv3d'\]"):
        from_vjp(lambda f, arrays: (f(*arrays), None), conv3d=lambda x: x)


def test_torch_module_classes_are_built_per_call_with_cnnrefs_weights(torch_required) -> None:
    properties = ["conv2d_backward.matches_reference", "max_pool2d_backward.matches_reference"]
    result = verify("tests.candidates.adapted:torch_modules", properties=properties, **IN_PROCESS)
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
    with pytest.raises(AssertionError, match="modified its argument x in place"):
        check_example("tests.candidates.tiny_autograd:mutating", "max_pool2d.contract", case)
    check_example("tests.candidates.tiny_autograd:copying", "max_pool2d.contract", case)


def test_a_torch_result_that_is_its_input_is_reported(torch_required) -> None:
    case = PoolCase(batch=1, channels=2, height=3, width=3, kernel_size=(1, 1))
    with pytest.raises(
        AssertionError,
        match="the forward given to torch_forward as max_pool2d returned a tensor that shares memory with its input x",
    ):
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
    run = cnnref(
        "verify", "--impl", "tests.candidates.cs231n:pooling",
        "--property", "max_pool2d_backward.matches_reference", "--examples", "5", "--seed", "0",
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


def test_the_signature_table_is_the_references() -> None:
    import inspect

    import cnnref
    from cnnref.ops import FUNCTIONS
    from cnnref.ops.signatures import SIGNATURES, argument_names

    for function in FUNCTIONS:
        parameters = inspect.signature(getattr(cnnref, function)).parameters
        positional = [name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert list(argument_names(function)) == positional, function
        signature = SIGNATURES[function.removesuffix("_backward")]
        for name, default in signature.geometry:
            if parameters[name].default is not inspect.Parameter.empty:
                assert parameters[name].default == default, (function, name)


def _recording(seen: list):
    def pool(x, kernel_size, **geometry):
        seen.append({"kernel_size": kernel_size} | geometry)
        return x[..., ::1, ::1] * 1.0

    return pool


def test_forwards_get_geometry_in_the_form_asked_for() -> None:
    from cnnref.adapters import from_vjp

    def vjp(f, arrays):
        return f(*arrays), lambda dy: [dy]

    x = np.zeros((1, 1, 2, 2))
    for form, expected in (
        ("pairs", {"kernel_size": (2, 2), "stride": None, "padding": (0, 0), "dilation": (1, 1)}),
        ("ints", {"kernel_size": 2, "stride": None, "padding": 0, "dilation": 1}),
        ("as_given", {"kernel_size": 2, "stride": None, "padding": (0, 0), "dilation": 1}),
    ):
        seen: list = []
        layers = from_vjp(vjp, max_pool2d=_recording(seen), geometry=form)
        layers.max_pool2d(x, 2, padding=(0, 0))  # dilation left out: cnnref's default
        assert {k: seen[0][k] for k in expected} == expected, form
        assert seen[0]["ceil_mode"] is False
    layers = from_vjp(vjp, max_pool2d=_recording([]), geometry="ints")
    with pytest.raises(ValueError, match=r"kernel_size=\(1, 2\) differs .*non_square_geometry"):
        layers.max_pool2d(x, (1, 2))
    with pytest.raises(ValueError, match="geometry must be one of"):
        from_vjp(vjp, max_pool2d=_recording([]), geometry="tuples")
    with pytest.raises(TypeError, match=r"no op is called \['maxpool'\]"):
        from_vjp(vjp, maxpool=_recording([]))


def test_a_gradient_in_an_input_buffer_is_copied() -> None:
    from cnnref.adapters import from_vjp

    layers = from_vjp(lambda f, arrays: (f(*arrays), lambda dy: [dy]), avg_pool2d=_recording([]))
    dy, x = np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))
    dx = layers.avg_pool2d_backward(dy, x, 1)
    assert np.array_equal(dx, dy) and not np.shares_memory(dx, dy)


def test_a_torch_bias_added_by_hand_passes_the_contract(torch_required) -> None:
    """N=1 and a 1x1 output: autograd hands dy's own buffer back as db; the adapter copies it."""
    case = ConvCase(
        batch=1, in_channels=1, out_channels=2, height=2, width=2, kernel_size=(2, 2), bias=True
    )
    check_example("tests.candidates.adapted:torch_bias_by_hand", "conv2d_backward.contract", case)


def test_all_four_ops_go_through_the_torch_adapter(torch_required) -> None:
    properties = [
        "conv_transpose2d_backward.matches_reference",
        "avg_pool2d_backward.matches_reference",
        "avg_pool2d.contract",
    ]
    result = verify("tests.candidates.adapted:torch_all_ops", properties=properties, **IN_PROCESS)
    _all_passed(result, properties)


def test_torch_module_builds_transposed_convs_average_and_adaptive_pools(torch_required) -> None:
    properties = [
        "conv_transpose2d_backward.matches_reference",
        "avg_pool2d_backward.matches_reference",
        "adaptive_avg_pool2d_backward.matches_reference",
        "adaptive_max_pool2d_backward.matches_reference",
    ]
    result = verify("tests.candidates.adapted:torch_modules", properties=properties, **IN_PROCESS)
    _all_passed(result, properties)


def test_the_torch_adapter_moves_tensors_to_cuda_and_back(torch_required) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine (hardware CI lacks)")
    layers = torch_forward(conv2d=torch.nn.functional.conv2d, device="cuda")
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    y = layers.conv2d(x, w)
    assert isinstance(y, np.ndarray) and y.tolist() == [[[[4.0, 4.0], [4.0, 4.0]]]]
    dx, dw, db = layers.conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
    assert db is None
    assert isinstance(dx, np.ndarray) and dw.tolist() == [[[[4.0, 4.0], [4.0, 4.0]]]]


class _Seeded:
    """A value whose library seeds dL/dY in one way only (``style``), ignoring any other."""

    def __init__(self, data, style, parent=None):
        self.data, self.style, self.parent, self.grad = np.asarray(data, float), style, parent, None

    def __array__(self, dtype=None, copy=None):
        return self.data

    def backward(self, gradient=None):
        if self.style == "grad":
            seed = np.ones_like(self.data) if self.grad is None else self.grad
        elif self.style == "wrapped":
            if not isinstance(gradient, _Seeded):
                raise TypeError("backward takes a value of this library")
            seed = gradient.data
        else:
            seed = gradient
        self.parent.grad = 3 * np.asarray(seed)  # y = 3 x, summed over nothing


def _triple(style):
    def pool(x, kernel_size, **geometry):  # a 1x1 window: y = 3 x
        return _Seeded(3 * x.data, style, parent=x)

    return pool


@pytest.mark.parametrize("style", ["plain", "wrapped", "grad"])
def test_the_seeding_style_is_detected(style) -> None:
    from cnnref.adapters import from_autograd

    layers = from_autograd(lambda a: _Seeded(a, style), max_pool2d=_triple(style))
    dy, x = np.arange(4.0).reshape(1, 1, 2, 2), np.ones((1, 1, 2, 2))
    assert layers.max_pool2d_backward(dy, x, 1).tolist() == (3 * dy).tolist()


def test_a_named_seeding_style_is_used_as_named() -> None:
    from cnnref.adapters import SEEDING, from_autograd

    assert "y.grad = wrap(dy)" in SEEDING
    dy, x = np.arange(4.0).reshape(1, 1, 2, 2), np.ones((1, 1, 2, 2))
    wrap = lambda a: _Seeded(a, "wrapped")  # noqa: E731
    named = from_autograd(wrap, max_pool2d=_triple("wrapped"), backward="y.backward(wrap(dy))")
    assert named.max_pool2d_backward(dy, x, 1).tolist() == (3 * dy).tolist()
    wrong = from_autograd(wrap, max_pool2d=_triple("wrapped"), backward="y.backward(dy)")
    with pytest.raises(TypeError, match="takes a value of this library"):
        wrong.max_pool2d_backward(dy, x, 1)
    with pytest.raises(ValueError, match="backward must be one of"):
        from_autograd(wrap, max_pool2d=_triple("wrapped"), backward="seed")


def test_the_docs_name_every_feature_and_convention() -> None:
    from cnnref.declarations import CONVENTIONS, FEATURES

    text = (ROOT / "docs" / "adapters.md").read_text()
    for name in FEATURES:
        assert f"| `{name}` |" in text, name
    for name, values in CONVENTIONS.items():
        assert f"| `{name}` |" in text, name
        for value in values:
            assert f"`{value}`" in text, (name, value)


def test_a_declaration_error_links_to_the_names() -> None:
    from cnnref.declarations import NAMES_TABLE, parse

    anchor = NAMES_TABLE.split("#")[1]
    assert "## Feature and convention names" in (ROOT / "docs" / "adapters.md").read_text()
    assert anchor == "feature-and-convention-names"
    with pytest.raises(ValueError, match=r"docs/adapters\.md#feature-and-convention-names"):
        parse(unsupported={"grups"})
