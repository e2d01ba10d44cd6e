"""adaptive_avg_pool2d's and adaptive_max_pool2d's reference forms (literal and fast) against
each other and against PyTorch CPU: window bounds, ties, NaN, -inf and signed zeros, dtypes,
argument checks, and inputs left alone."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import cnnref
from cnnref.ops.adaptive_avg_pool2d import fast as avg_fast
from cnnref.ops.adaptive_avg_pool2d import literal as avg_literal
from cnnref.ops.adaptive_max_pool2d import fast as max_fast
from cnnref.ops.adaptive_max_pool2d import literal as max_literal
from cnnref.strategies.layouts import LAYOUTS, with_layout

FORMS = {
    "adaptive_avg_pool2d": {"literal": avg_literal, "fast": avg_fast},
    "adaptive_max_pool2d": {"literal": max_literal, "fast": max_fast},
}
EACH_FORM = [(op, form) for op in FORMS for form in ("literal", "fast")]
DTYPES = (np.float32, np.float64)


class Example(NamedTuple):
    x_shape: tuple[int, ...]
    output_size: object


# Output sides that divide the input, that do not (windows overlap unevenly), of one, larger
# than the input (each element read by several cells), and None (the input's side).
EXAMPLES = {
    "divides": Example((2, 3, 8, 6), (4, 3)),
    "uneven overlaps": Example((2, 2, 10, 7), (3, 4)),
    "ResNet's last layer, 7x7 to 1x1": Example((2, 4, 7, 7), 1),
    "one side of one": Example((1, 2, 9, 9), (1, 5)),
    "upsampling": Example((1, 2, 2, 3), (7, 5)),
    "upsampling one side, shrinking the other": Example((1, 2, 3, 11), (5, 4)),
    "None keeps a side": Example((2, 2, 13, 11), (None, 4)),
    "None on both sides": Example((1, 2, 5, 4), [None, None]),
    "the input's own size": Example((1, 2, 5, 6), (5, 6)),
    "prime sides": Example((1, 1, 13, 17), (5, 7)),
    "empty batch": Example((0, 2, 6, 6), 4),
}
# Values for the max pool: ties everywhere, NaN among them, whole windows of -inf, signed zeros.
VALUES = ("normal", "ties", "nan", "neginf", "signed zeros")


def values(kind: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "signed zeros":
        return np.where(rng.random(shape) < 0.5, 0.0, -0.0)
    x = rng.integers(-2, 3, shape).astype(np.float64)
    if kind == "nan":
        x[rng.random(shape) < 0.15] = np.nan
    if kind == "neginf":
        x[rng.random(shape) < 0.8] = -np.inf
    return x


def torch_pool(op: str, x: np.ndarray, dy: np.ndarray, output_size) -> tuple:
    """PyTorch's y, its indices for the max pool (None for the average), and dx by autograd."""
    import torch

    leaf = torch.tensor(x, requires_grad=True)
    pool = getattr(torch.nn.functional, op)
    if op == "adaptive_max_pool2d":
        y, indices = pool(leaf, output_size, return_indices=True)
    else:
        y, indices = pool(leaf, output_size), None
    if 0 in dy.shape:  # PyTorch's backward refuses an empty batch: nothing to route
        return y.detach().numpy(), indices, np.zeros_like(x)
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), None if indices is None else indices.numpy(), leaf.grad.numpy()


def same_bits(actual: np.ndarray, expected: np.ndarray) -> bool:
    """Equal values, NaN where NaN, and the same sign of every zero."""
    return (
        actual.dtype == expected.dtype
        and np.array_equal(actual, expected, equal_nan=True)
        and np.array_equal(np.signbit(actual), np.signbit(expected))
    )


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["literal", "fast"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_average_matches_torch_bit_for_bit(name: str, form: str, dtype: type) -> None:
    x_shape, output_size = EXAMPLES[name]
    module = FORMS["adaptive_avg_pool2d"][form]
    x = values("normal", x_shape).astype(dtype)
    y = module.adaptive_avg_pool2d(x, output_size)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    torch_y, _, torch_dx = torch_pool("adaptive_avg_pool2d", x, dy, output_size)
    dx = module.adaptive_avg_pool2d_backward(dy, x, output_size)
    if y.shape[2:] == (1, 1):
        # PyTorch computes a 1x1 output as x.mean((-1, -2)), a sum in another order, and its
        # gradient as dy / (H*W), not dy / H / W: within the float tolerance of a sum of H*W
        # terms, not bit for bit.
        rtol = 64 * x_shape[2] * x_shape[3] * np.finfo(dtype).eps
        np.testing.assert_allclose(y, torch_y, rtol=rtol, atol=0)
        np.testing.assert_allclose(dx, torch_dx, rtol=rtol, atol=0)
    else:
        assert same_bits(y, torch_y) and same_bits(dx, torch_dx)


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("kind", VALUES)
@pytest.mark.parametrize("form", ["literal", "fast"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_maximum_its_index_and_its_routing_match_torch(name: str, form: str, kind: str) -> None:
    x_shape, output_size = EXAMPLES[name]
    module = FORMS["adaptive_max_pool2d"][form]
    for dtype in DTYPES:
        x = values(kind, x_shape).astype(dtype)
        y, indices = module.adaptive_max_pool2d(x, output_size, return_indices=True)
        dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        torch_y, torch_indices, torch_dx = torch_pool("adaptive_max_pool2d", x, dy, output_size)
        assert same_bits(y, torch_y)
        assert indices.dtype == np.int64 and np.array_equal(indices, torch_indices)
        assert same_bits(module.adaptive_max_pool2d_backward(dy, x, output_size), torch_dx)


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("form", ["literal", "fast"])
def test_ties_across_overlapping_windows_route_as_pytorch_does(form: str) -> None:
    """5 columns into 3 cells: windows [0, 2), [1, 4), [3, 5) share columns 1 and 3."""
    module = FORMS["adaptive_max_pool2d"][form]
    x = np.array([[[[1.0, 3.0, 3.0, 1.0, 3.0]]]])
    _, indices = module.adaptive_max_pool2d(x, (1, 3), return_indices=True)
    assert indices.tolist() == [[[[1, 1, 4]]]]  # the first maximum of each window
    dx = module.adaptive_max_pool2d_backward(np.array([[[[1.0, 10.0, 100.0]]]]), x, (1, 3))
    assert dx.tolist() == [[[[0.0, 11.0, 0.0, 0.0, 100.0]]]]  # two windows add at column 1
    nan = np.array([[[[np.nan, 1.0], [np.nan, 2.0]]]])
    assert module.adaptive_max_pool2d(nan, 1, return_indices=True)[1].item() == 2  # last NaN
    neginf = np.full((1, 1, 1, 3), -np.inf)
    assert module.adaptive_max_pool2d(neginf, (1, 2), return_indices=True)[1].tolist() == [
        [[[0, 1]]]
    ]  # a window of -inf only selects its first element
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):  # a tie of zeros keeps the first's sign
        zeros = np.array([[[[first, second]]]])
        assert np.signbit(module.adaptive_max_pool2d(zeros, 1)).item() == np.signbit(first)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", EXAMPLES)
def test_fast_matches_literal_bit_for_bit(name: str, dtype: type) -> None:
    x_shape, output_size = EXAMPLES[name]
    for op, kinds in (("adaptive_avg_pool2d", ("normal", "nan")), ("adaptive_max_pool2d", VALUES)):
        literal, fast = FORMS[op]["literal"], FORMS[op]["fast"]
        for kind in kinds:
            x = values(kind, x_shape).astype(dtype)
            y = getattr(literal, op)(x, output_size)
            assert same_bits(getattr(fast, op)(x, output_size), y), (op, kind)
            dy = values("nan" if kind == "nan" else "normal", y.shape, 2).astype(dtype)
            backward = f"{op}_backward"
            expected = getattr(literal, backward)(dy, x, output_size)
            assert same_bits(getattr(fast, backward)(dy, x, output_size), expected), (op, kind)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("op", "form"), EACH_FORM)
def test_inputs_are_not_modified_and_results_are_new_arrays(
    op: str, form: str, layout: str
) -> None:
    module = FORMS[op][form]
    x = with_layout(values("nan", (2, 3, 7, 5)), layout)
    y = getattr(module, op)(x, (3, 2))
    dy = with_layout(values("normal", y.shape, 1), layout)
    x_before, dy_before = x.copy(), dy.copy()
    dx = getattr(module, f"{op}_backward")(dy, x, (3, 2))
    assert same_bits(x, x_before) and same_bits(dy, dy_before)
    for result in (y, dx):
        assert not np.shares_memory(result, x) and not np.shares_memory(result, dy)


@pytest.mark.parametrize(("op", "form"), EACH_FORM)
def test_dtypes(op: str, form: str) -> None:
    """y in x's dtype (the indices int64); dx in the common dtype of dy and x."""
    module = FORMS[op][form]
    for x_dtype in DTYPES:
        x = values("normal", (1, 2, 5, 5)).astype(x_dtype)
        y = getattr(module, op)(x, 3)
        assert y.dtype == x_dtype
        for dy_dtype in DTYPES:
            dx = getattr(module, f"{op}_backward")(y.astype(dy_dtype), x, 3)
            assert dx.dtype == np.result_type(dy_dtype, x_dtype)
    if op == "adaptive_max_pool2d":
        assert getattr(module, op)(x, 3, return_indices=True)[1].dtype == np.int64


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_formats_round_once_and_indices_stay_int64(dtype: str) -> None:
    """cnnref.adaptive_max_pool2d takes the half formats through float32 (exact for a maximum):
    y in the half format, its indices int64, as PyTorch's, past 2048 (no half holds them)."""
    import torch

    from cnnref.precision import BFLOAT16

    x64 = values("ties", (1, 2, 64, 70))
    x = x64.astype(BFLOAT16 if dtype == "bfloat16" else dtype)
    y, indices = cnnref.adaptive_max_pool2d(x, (5, 6), return_indices=True)
    torch_y, torch_indices = torch.nn.functional.adaptive_max_pool2d(
        torch.from_numpy(x64), (5, 6), return_indices=True
    )
    assert y.dtype == x.dtype and indices.dtype == np.int64 and indices.max() > 2048
    assert np.array_equal(indices, torch_indices.numpy())
    assert np.array_equal(y.astype(np.float64), torch_y.numpy())
    average = cnnref.adaptive_avg_pool2d(x, (5, 6))
    assert average.dtype == x.dtype


# output_size as PyTorch refuses it: (error, message).
INVALID = {
    "None alone": (None, TypeError, r"output_size must be an int or a pair of ints or None"),
    "a float": (2.5, TypeError, r"output_size must be an int or a pair .*got 2\.5"),
    "a bool": (True, TypeError, r"output_size must be an int or a pair .*got True"),
    "a float in a pair": ((2.0, 2), TypeError, r"output_size must be an int or a pair"),
    "one entry": ((2,), TypeError, r"output_size must be an int or a pair .*got \(2,\)"),
    "three entries": ((1, 2, 3), TypeError, r"output_size must be an int or a pair"),
    "a negative side": ((2, -1), ValueError, r"output_size must be >= 0; got \(2, -1\)"),
}


@pytest.mark.parametrize(("op", "form"), EACH_FORM)
@pytest.mark.parametrize("name", INVALID)
def test_invalid_output_sizes_name_the_argument_and_the_rule(name: str, op: str, form: str) -> None:
    output_size, error, message = INVALID[name]
    module = FORMS[op][form]
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(error, match=message):
        getattr(module, op)(x, output_size)
    with pytest.raises(error, match=message):
        getattr(module, f"{op}_backward")(np.zeros((1, 1, 2, 2)), x, output_size)


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("name", INVALID)
def test_pytorch_refuses_the_same_output_sizes(name: str) -> None:
    import torch

    output_size = INVALID[name][0]
    for op in FORMS:
        with pytest.raises((TypeError, RuntimeError)):
            getattr(torch.nn.functional, op)(torch.zeros(1, 1, 4, 4), output_size)


@pytest.mark.parametrize(("op", "form"), EACH_FORM)
def test_accepted_output_sizes_give_pytorchs_shapes(op: str, form: str) -> None:
    """An int, a pair as tuple or list, numpy ints, None entries, and 0 (an empty output)."""
    forward = getattr(FORMS[op][form], op)
    x = np.zeros((2, 3, 5, 6))
    assert forward(x, 3).shape == (2, 3, 3, 3)
    assert forward(x, [np.int64(2), 4]).shape == (2, 3, 2, 4)
    assert forward(x, (None, 2)).shape == (2, 3, 5, 2)
    assert forward(x, (0, 2)).shape == (2, 3, 0, 2)


@pytest.mark.parametrize(("op", "form"), EACH_FORM)
def test_the_arrays_are_checked(op: str, form: str) -> None:
    module = FORMS[op][form]
    backward = getattr(module, f"{op}_backward")
    with pytest.raises(ValueError, match=r"x must be a 4-D array \(N, C, H, W\)"):
        getattr(module, op)(np.zeros((1, 4, 4)), 2)
    with pytest.raises(
        ValueError, match=r"x \(N, C, H, W\) must not be empty along any axis but N"
    ):
        getattr(module, op)(np.zeros((1, 1, 0, 4)), 2)
    with pytest.raises(TypeError, match=r"x has dtype int64"):
        getattr(module, op)(np.zeros((1, 1, 4, 4), dtype=np.int64), 2)
    with pytest.raises(ValueError, match=r"dy must have the shape of the forward output"):
        backward(np.zeros((1, 1, 3, 2)), np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match=r"dy \(N, C, OH, OW\) must not be empty"):
        backward(np.zeros((1, 1, 0, 2)), np.zeros((1, 1, 4, 4)), (0, 2))
