"""avg_pool2d's reference forms (literal and fast) against each other and against PyTorch CPU,
its argument checks, and the student candidate with its catalogue of bugs."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from cnnref.ops import blocks
from cnnref.ops.avg_pool2d import fast, literal
from cnnref.strategies.layouts import LAYOUTS, with_layout
from tests.candidates import avg_pool2d_student

FORMS = {"literal": literal, "fast": fast}
DTYPES = (np.float32, np.float64)
# Relative to the largest |input| a window sums: a few ulps of the sum.
RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-14}


class Example(NamedTuple):
    x_shape: tuple[int, ...]
    geometry: dict


# Each tricky argument alone, then together.  Sizes are chosen so that ceil_mode's last
# window hangs past the padded edge (6 + 2*1 with k=3, s=2), or starts in the right
# padding and is dropped (5 + 2*1 with k=2, s=2).
EXAMPLES = {
    "2x2": Example((2, 3, 8, 8), {"kernel_size": 2}),
    "stride None means kernel_size": Example((1, 2, 9, 7), {"kernel_size": (3, 2)}),
    "overlapping windows": Example((2, 2, 7, 6), {"kernel_size": 3, "stride": 1}),
    "stride larger than kernel": Example((1, 2, 10, 9), {"kernel_size": 2, "stride": 3}),
    "1x1 kernel with stride": Example((1, 2, 5, 6), {"kernel_size": 1, "stride": 2}),
    "kernel equals input": Example((2, 3, 4, 5), {"kernel_size": (4, 5)}),
    "empty batch": Example((0, 2, 6, 6), {"kernel_size": 2, "padding": 1}),
    "padding": Example((2, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),
    "padding, count_include_pad=False": Example(
        (2, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}
    ),
    "tuple kernel, stride and padding": Example(
        (2, 2, 9, 8), {"kernel_size": (3, 4), "stride": (2, 1), "padding": (1, 2)}
    ),
    "ceil_mode": Example((2, 1, 5, 7), {"kernel_size": 2, "ceil_mode": True}),
    "ceil_mode overlapping": Example(
        (1, 2, 6, 8), {"kernel_size": 3, "stride": 2, "ceil_mode": True}
    ),
    "ceil_mode, last window past the padded edge": Example(
        (2, 2, 6, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    ),
    "ceil_mode, past the padded edge, count_include_pad=False": Example(
        (2, 2, 6, 8),
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
    "ceil_mode drops a window starting in the right padding": Example(
        (1, 2, 5, 5), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}
    ),
    "divisor_override": Example(
        (2, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 5}
    ),
    "negative divisor_override with ceil_mode": Example(
        (1, 2, 6, 8),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": -3},
    ),
    "divisor_override with count_include_pad=False": Example(
        (1, 2, 7, 7),
        {"kernel_size": 3, "padding": 1, "count_include_pad": False, "divisor_override": 2},
    ),
    "all together": Example(
        (2, 3, 11, 10),
        {
            "kernel_size": (3, 4),
            "stride": (2, 3),
            "padding": (1, 2),
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
    "all together, counting padding": Example(
        (2, 3, 11, 10),
        {"kernel_size": (3, 4), "stride": (2, 3), "padding": (1, 2), "ceil_mode": True},
    ),
}


def torch_avg_pool2d(x: np.ndarray, dy: np.ndarray, **geometry) -> tuple[np.ndarray, np.ndarray]:
    """``(y, dx)`` from ``torch.nn.functional.avg_pool2d`` and autograd."""
    import torch

    leaf = torch.from_numpy(np.array(x)).requires_grad_(True)
    y = torch.nn.functional.avg_pool2d(leaf, **geometry)
    y.backward(torch.from_numpy(np.array(dy)))
    return y.detach().numpy(), leaf.grad.numpy()


def example_arrays(name: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """x and a dy of the forward output's shape, seeded by the example's name."""
    example = EXAMPLES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.standard_normal(example.x_shape).astype(dtype)
    dy = rng.standard_normal(fast.avg_pool2d(x, **example.geometry).shape).astype(dtype)
    return x, dy


def assert_matches(actual: np.ndarray, expected: np.ndarray, scale: float, name: str) -> None:
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    tolerance = RTOL[expected.dtype] * max(scale, 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance, err_msg=name)


def matches_torch(forms, x: np.ndarray, dy: np.ndarray, geometry: dict) -> bool:
    """Whether ``forms``'s forward, then its backward, agree with torch's (shape, dtype and
    values).  A crash is not a disagreement: it fails the test that asked."""
    y_torch, dx_torch = torch_avg_pool2d(x, dy, **geometry)
    try:
        with np.errstate(all="ignore"):  # a candidate's 0 / 0 is its own business
            y = forms.avg_pool2d(x, **geometry)
        assert_matches(y, y_torch, np.abs(x).max(initial=0), "y")
        with np.errstate(all="ignore"):
            dx = forms.avg_pool2d_backward(dy, x, **geometry)
        assert_matches(dx, dx_torch, np.abs(dy).max(initial=0), "dx")
    except AssertionError:
        return False
    return True


# --- the reference forms ---------------------------------------------------------------------


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_matches_torch(name: str, form: str, dtype: type) -> None:
    geometry = EXAMPLES[name].geometry
    x, dy = example_arrays(name, dtype)
    y_torch, dx_torch = torch_avg_pool2d(x, dy, **geometry)
    y = FORMS[form].avg_pool2d(x, **geometry)
    dx = FORMS[form].avg_pool2d_backward(dy, x, **geometry)
    assert_matches(y, y_torch, np.abs(x).max(initial=0), "y")
    assert_matches(dx, dx_torch, np.abs(dy).max(initial=0), "dx")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", EXAMPLES)
def test_fast_matches_literal(name: str, dtype: type) -> None:
    """The fast forward adds the same terms in the same order as the literal one, so the
    two agree bit for bit; the backward adds a position's shares in another order."""
    geometry = EXAMPLES[name].geometry
    x, dy = example_arrays(name, dtype)
    np.testing.assert_array_equal(fast.avg_pool2d(x, **geometry), literal.avg_pool2d(x, **geometry))
    assert_matches(
        fast.avg_pool2d_backward(dy, x, **geometry),
        literal.avg_pool2d_backward(dy, x, **geometry),
        np.abs(dy).max(initial=0),
        "dx",
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_fast_form_gives_the_same_bits_block_by_block(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast form works through blocks of planes that fit in cache; one plane per block
    (the smallest) must give what one block of all of them gives."""
    geometry = EXAMPLES[name].geometry
    x, dy = example_arrays(name, np.float64)
    whole = fast.avg_pool2d(x, **geometry), fast.avg_pool2d_backward(dy, x, **geometry)
    monkeypatch.setattr(blocks, "PLANE_BUDGET_BYTES", 1)
    np.testing.assert_array_equal(fast.avg_pool2d(x, **geometry), whole[0])
    np.testing.assert_array_equal(fast.avg_pool2d_backward(dy, x, **geometry), whole[1])


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("form", FORMS)
def test_nan_and_inf_propagate_through_the_sum(form: str) -> None:
    x = np.zeros((1, 1, 4, 6))
    x[0, 0, 0, 0] = np.nan  # window (0, 0): NaN
    x[0, 0, 0, 2] = np.inf  # window (0, 1): +inf
    x[0, 0, 0, 4], x[0, 0, 1, 5] = np.inf, -np.inf  # window (0, 2): inf - inf = NaN
    x[0, 0, 2, 0] = -np.inf  # window (1, 0): -inf
    dy = np.ones((1, 1, 2, 3))
    dy[0, 0, 1, 2] = np.inf  # spreads inf / 4 over its window only
    geometry = {"kernel_size": 2}
    y_torch, dx_torch = torch_avg_pool2d(x, dy, **geometry)
    y = FORMS[form].avg_pool2d(x, **geometry)
    dx = FORMS[form].avg_pool2d_backward(dy, x, **geometry)
    np.testing.assert_array_equal(y, y_torch)  # NaN where torch has NaN, and the same infs
    np.testing.assert_array_equal(dx, dx_torch)
    assert np.isnan(y[0, 0, 0, [0, 2]]).all() and y[0, 0, 0, 1] == np.inf
    assert y[0, 0, 1, 0] == -np.inf and np.isinf(dx[0, 0, 2:, 4:]).all()


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("form", FORMS)
def test_a_sum_of_negative_zeros_is_positive_zero(form: str) -> None:
    """The sum starts from +0, as PyTorch's does: a window of -0.0 averages to +0.0."""
    x = np.full((1, 1, 2, 2), -0.0)
    y = FORMS[form].avg_pool2d(x, 2)
    y_torch, _ = torch_avg_pool2d(x, np.ones((1, 1, 1, 1)), kernel_size=2)
    assert np.signbit(y).tolist() == np.signbit(y_torch).tolist() == [[[[False]]]]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_backward_is_the_adjoint_of_the_forward(name: str, form: str) -> None:
    """sum(avg_pool2d(X) * dY) == sum(X * dX), and dX depends on X's shape only."""
    geometry = EXAMPLES[name].geometry
    x, dy = example_arrays(name, np.float64)
    op = FORMS[form]
    dx = op.avg_pool2d_backward(dy, x, **geometry)
    forward_side = np.sum(op.avg_pool2d(x, **geometry) * dy)
    backward_side = np.sum(x * dx)
    scale = np.abs(op.avg_pool2d(np.abs(x), **geometry) * np.abs(dy)).sum()
    assert abs(forward_side - backward_side) <= 1e-13 * max(scale, 1.0), name
    np.testing.assert_array_equal(op.avg_pool2d_backward(dy, np.zeros_like(x), **geometry), dx)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_inputs_are_not_modified_and_results_are_new_arrays(form: str, layout: str) -> None:
    geometry = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    x, dy = example_arrays("ceil_mode, last window past the padded edge", np.float64)
    arrays = {"x": with_layout(x, layout), "dy": with_layout(dy, layout)}
    originals = {k: v.copy() for k, v in arrays.items()}
    y = FORMS[form].avg_pool2d(arrays["x"], **geometry)
    dx = FORMS[form].avg_pool2d_backward(arrays["dy"], arrays["x"], **geometry)
    for k, original in originals.items():
        assert np.array_equal(arrays[k], original), f"{k} was modified"
    np.testing.assert_array_equal(y, fast.avg_pool2d(x, **geometry))
    np.testing.assert_allclose(dx, fast.avg_pool2d_backward(dy, x, **geometry), rtol=1e-14)
    # A 1x1 window with stride 1 is the identity: still a new array, never a view of x.
    same = FORMS[form].avg_pool2d(arrays["x"], 1)
    assert not np.shares_memory(same, arrays["x"]) and np.array_equal(same, arrays["x"])


@pytest.mark.parametrize("form", FORMS)
def test_dtypes(form: str) -> None:
    op = FORMS[form]
    x64 = np.arange(32.0).reshape(1, 2, 4, 4)
    x32 = x64.astype(np.float32)
    assert op.avg_pool2d(x32, 2).dtype == np.float32
    assert op.avg_pool2d(x64, 2).dtype == np.float64
    dy64 = np.ones((1, 2, 2, 2))
    dy32 = dy64.astype(np.float32)
    assert op.avg_pool2d_backward(dy32, x32, 2).dtype == np.float32
    assert op.avg_pool2d_backward(dy64, x64, 2).dtype == np.float64
    # Mixed: np.result_type, float64.
    assert op.avg_pool2d_backward(dy32, x64, 2).dtype == np.float64
    assert op.avg_pool2d_backward(dy64, x32, 2).dtype == np.float64
    np.testing.assert_array_equal(op.avg_pool2d(x32, 2), op.avg_pool2d(x64, 2).astype(np.float32))


# --- argument errors -------------------------------------------------------------------------

X = np.zeros((2, 3, 6, 6))

ERRORS = {
    "3-D x": ({"x": np.zeros((3, 6, 6))}, ValueError, r"x must be a 4-D array \(N, C, H, W\)"),
    "int x": ({"x": X.astype(np.int64)}, TypeError, r"x has dtype int64; cnnref supports"),
    "complex x": ({"x": X.astype(np.complex128)}, TypeError, r"x has dtype complex128"),
    "empty channels": ({"x": np.zeros((2, 0, 6, 6))}, ValueError, r"x .* must not be empty"),
    "kernel_size 0": ({"kernel_size": 0}, ValueError, r"kernel_size must be >= 1"),
    "kernel_size triple": ({"kernel_size": (2, 2, 2)}, TypeError, r"kernel_size must be an int"),
    "kernel_size float": ({"kernel_size": 2.0}, TypeError, r"kernel_size must be an int"),
    "stride 0": ({"stride": (1, 0)}, ValueError, r"stride must be >= 1"),
    "negative padding": ({"padding": -1}, ValueError, r"padding must be >= 0"),
    "padding over half the kernel": (
        {"kernel_size": 3, "padding": (0, 2)},
        ValueError,
        r"padding must be at most half the kernel size",
    ),
    "ceil_mode not a bool": ({"ceil_mode": 1}, TypeError, r"ceil_mode must be a bool"),
    "count_include_pad not a bool": (
        {"count_include_pad": "yes"},
        TypeError,
        r"count_include_pad must be a bool",
    ),
    "divisor_override 0": (
        {"divisor_override": 0},
        ValueError,
        r"divisor_override must be nonzero",
    ),
    "divisor_override float": (
        {"divisor_override": 2.5},
        TypeError,
        r"divisor_override must be None or an int",
    ),
    "divisor_override bool": (
        {"divisor_override": True},
        TypeError,
        r"divisor_override must be None or an int",
    ),
    "kernel larger than input": ({"kernel_size": 7}, ValueError, r"input height 6 is too small"),
}


def call_forward(op, **changes):
    arguments = {"x": X, "kernel_size": 2, **changes}
    return op.avg_pool2d(arguments.pop("x"), **arguments)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ERRORS)
def test_invalid_arguments_name_the_argument(name: str, form: str) -> None:
    changes, error, message = ERRORS[name]
    changes = dict(changes)
    with pytest.raises(error, match=message):
        call_forward(FORMS[form], **changes)
    x = changes.pop("x", X)
    with pytest.raises(error, match=message):
        FORMS[form].avg_pool2d_backward(np.zeros((2, 3, 3, 3)), x, **{"kernel_size": 2, **changes})


@pytest.mark.parametrize("form", FORMS)
def test_backward_checks_dy(form: str) -> None:
    op = FORMS[form]
    with pytest.raises(ValueError, match=r"dy must have the shape of the forward output"):
        op.avg_pool2d_backward(np.zeros((2, 3, 2, 2)), X, 2)
    with pytest.raises(ValueError, match=r"dy must be a 4-D array \(N, C, OH, OW\)"):
        op.avg_pool2d_backward(np.zeros((3, 3, 3)), X, 2)
    with pytest.raises(TypeError, match=r"dy has dtype int64"):
        op.avg_pool2d_backward(np.zeros((2, 3, 3, 3), dtype=np.int64), X, 2)


# --- the student candidate and its bugs ------------------------------------------------------


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("dtype", DTYPES)
def test_student_without_bugs_matches_torch(dtype: type) -> None:
    student = avg_pool2d_student.build()
    for name, example in EXAMPLES.items():
        x, dy = example_arrays(name, dtype)
        assert matches_torch(student, x, dy, example.geometry), name


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("bug", avg_pool2d_student.BUGS)
def test_each_student_bug_differs_from_torch(bug: str) -> None:
    """Each bug is real: some example of the grid tells it from PyTorch."""
    student = avg_pool2d_student.build(bug)
    caught = [
        name
        for name, example in EXAMPLES.items()
        if not matches_torch(student, *example_arrays(name, np.float64), example.geometry)
    ]
    assert caught, f"{bug} agrees with torch on every example: not a bug"
