"""conv_transpose2d's two reference forms and the student candidate against PyTorch CPU.

The literal form (a scatter, tap by tap) and the fast form (conv2d's gradient
code) are each checked against ``torch.nn.functional.conv_transpose2d`` and its
autograd, over a pinned grid in which each tricky argument (stride, padding,
output_padding, dilation, groups) appears alone and with the others.  The
student candidate (tests/candidates/conv_transpose2d_student.py) must match
PyTorch as built, and each of its bugs must depart from PyTorch somewhere on
that grid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pytest

from cnnref.checks.compare import FLOAT32_RTOL, FLOAT64_RTOL, assert_close
from cnnref.ops.conv_transpose2d import fast, literal
from cnnref.strategies.layouts import LAYOUTS, with_layout
from tests.candidates import conv_transpose2d_student as student

FORMS = {"literal": literal, "fast": fast}
RTOL = {np.float32: FLOAT32_RTOL, np.float64: FLOAT64_RTOL}


@dataclass(frozen=True)
class Case:
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]  # (C_in, C_out/groups, kh, kw)
    geometry: dict = field(default_factory=dict)
    bias: bool = True


CASES = {
    "defaults": Case((2, 3, 5, 4), (3, 3, 3, 3)),
    "no_bias": Case((2, 3, 4, 5), (3, 2, 2, 3), bias=False),
    "stride": Case((2, 3, 4, 5), (3, 2, 3, 3), {"stride": 2}),
    "stride_pair": Case((1, 2, 4, 3), (2, 3, 3, 2), {"stride": (2, 3)}),
    "padding": Case((2, 3, 5, 5), (3, 3, 3, 3), {"padding": 1}),
    "padding_past_reach": Case((1, 2, 5, 6), (2, 2, 3, 3), {"stride": 2, "padding": (3, 2)}),
    "output_padding": Case((2, 3, 4, 4), (3, 2, 3, 3), {"stride": 2, "output_padding": 1}),
    "output_padding_with_padding": Case(
        (2, 3, 4, 5), (3, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}
    ),
    "output_padding_pair": Case(
        (1, 2, 4, 4), (2, 3, 3, 3), {"stride": (2, 3), "padding": (1, 2), "output_padding": (1, 2)}
    ),
    "output_padding_past_stride": Case(
        (2, 2, 4, 4), (2, 2, 3, 3), {"padding": 1, "output_padding": 2, "dilation": 3}
    ),
    "output_past_reach": Case(
        (2, 2, 1, 3),
        (2, 2, 1, 2),
        {"padding": (2, 0), "output_padding": (5, 0), "dilation": (6, 1)},
    ),
    "dilation": Case((2, 3, 4, 5), (3, 2, 3, 2), {"dilation": 2}),
    "dilation_pair": Case((1, 2, 5, 4), (2, 2, 3, 3), {"dilation": (1, 3), "padding": 1}),
    "groups": Case((2, 4, 4, 5), (4, 3, 3, 3), {"groups": 2}),
    "depthwise": Case((2, 3, 5, 4), (3, 1, 3, 3), {"groups": 3, "stride": 2}),
    "many_inputs_few_outputs": Case((2, 8, 4, 4), (8, 1, 3, 3), {"stride": 2, "padding": 1}),
    "one_by_one": Case((2, 3, 3, 4), (3, 2, 1, 1), {"stride": 2, "output_padding": 1}),
    "all_together": Case(
        (2, 6, 4, 5),
        (6, 2, 3, 2),
        {
            "stride": (2, 3),
            "padding": (2, 1),
            "output_padding": (1, 2),
            "groups": 3,
            "dilation": (2, 3),
        },
    ),
}


def inputs(case: Case, dtype: type, seed: str) -> tuple[np.ndarray, ...]:
    """x, w, b (or None) and a dy of the output's shape, drawn from a seed named by the test."""
    rng = np.random.default_rng(sum(map(ord, seed)))
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    out_channels = case.w_shape[1] * case.geometry.get("groups", 1)
    b = rng.standard_normal(out_channels).astype(dtype) if case.bias else None
    dy = rng.standard_normal(literal.conv_transpose2d(x, w, b, **case.geometry).shape)
    return x, w, b, dy.astype(dtype)


def torch_results(x, w, b, dy, **geometry) -> tuple[np.ndarray, ...]:
    """PyTorch's y, dx, dw, db (db None without b), computed in float64 from the same values."""
    import torch

    def leaf(a):
        return None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True)

    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **geometry)
    ty.backward(torch.tensor(dy, dtype=torch.float64))
    return (
        ty.detach().numpy(),
        tx.grad.numpy(),
        tw.grad.numpy(),
        None if tb is None else tb.grad.numpy(),
    )


@functools.cache
def torch_results_of(name: str) -> tuple[np.ndarray, ...]:
    """``torch_results`` for a case of the grid, on its float64 inputs (computed once)."""
    case = CASES[name]
    return torch_results(*inputs(case, np.float64, name), **case.geometry)


def error_scales(x, w, b, dy, **geometry) -> tuple[np.ndarray, ...]:
    """Elementwise sums of |terms| of y, dx, dw and db: what rounding errors scale with."""

    def magnitude(a):
        return None if a is None else np.abs(a).astype(np.float64)

    y = literal.conv_transpose2d(magnitude(x), magnitude(w), magnitude(b), **geometry)
    grads = literal.conv_transpose2d_backward(
        magnitude(dy), magnitude(x), magnitude(w), magnitude(b), **geometry
    )
    return (y, *grads)


def assert_results_close(actual, expected, scales, rtol) -> None:
    for name, a, e, s in zip(("y", "dx", "dw", "db"), actual, expected, scales):
        if e is None:
            assert a is None, f"{name} must be None when b is None; got {a!r}"
        else:
            assert a.shape == e.shape, f"{name} has shape {a.shape}; PyTorch's is {e.shape}"
            assert_close(a, e, scale=s, rtol=rtol, name=name)


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("form", FORMS)
def test_form_matches_torch(form: str, name: str, dtype: type) -> None:
    case, op = CASES[name], FORMS[form]
    x, w, b, dy = inputs(case, dtype, name)
    originals = [a.copy() for a in (x, w, b, dy) if a is not None]

    y = op.conv_transpose2d(x, w, b, **case.geometry)
    dx, dw, db = op.conv_transpose2d_backward(dy, x, w, b, **case.geometry)

    for original, array in zip(originals, [a for a in (x, w, b, dy) if a is not None]):
        assert np.array_equal(original, array), f"{form} modified an input"
    for result in (y, dx, dw) + (() if db is None else (db,)):
        assert result.dtype == dtype, f"{form} returned {result.dtype} for {np.dtype(dtype)} inputs"
        for given in (x, w, b, dy):
            assert given is None or not np.shares_memory(result, given), "a result is an input"
    expected = torch_results(x, w, b, dy, **case.geometry)
    scales = error_scales(x, w, b, dy, **case.geometry)
    assert_results_close((y, dx, dw, db), expected, scales, RTOL[dtype])


@pytest.mark.parametrize("name", ["output_padding_past_stride", "all_together", "depthwise"])
def test_fast_matches_literal(name: str) -> None:
    """The two forms agree to rounding, in every memory layout of the inputs."""
    case = CASES[name]
    x, w, b, dy = inputs(case, np.float64, name)
    y = literal.conv_transpose2d(x, w, b, **case.geometry)
    expected = (y, *literal.conv_transpose2d_backward(dy, x, w, b, **case.geometry))
    scales = error_scales(x, w, b, dy, **case.geometry)
    for layout in LAYOUTS:
        xl, wl, dyl = (with_layout(a, layout) for a in (x, w, dy))
        y = fast.conv_transpose2d(xl, wl, b, **case.geometry)
        actual = (y, *fast.conv_transpose2d_backward(dyl, xl, wl, b, **case.geometry))
        assert_results_close(actual, expected, scales, FLOAT64_RTOL)


SPECIALS = {
    # an inf in x at a corner: its taps that land in the padding meet dY's zero padding in dW
    "x_and_dy": {
        "x": [((0, 1, 2, 3), np.nan), ((1, 0, 0, 0), np.inf)],
        "dy": [((0, 1, 1, 1), np.nan)],
    },
    # an inf in w: a form that multiplied w by inserted or padding zeros would make NaN
    "w": {"w": [((0, 0, 1, 1), np.inf), ((1, 1, 0, 2), np.nan)]},
}


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("where", SPECIALS)
@pytest.mark.parametrize("name", ["output_padding_with_padding", "output_padding_past_stride"])
@pytest.mark.parametrize("form", FORMS)
def test_nan_and_inf_propagate_as_in_torch(form: str, name: str, where: str) -> None:
    """NaN and inf land where PyTorch's do: both forms form the products PyTorch forms."""
    case = CASES[name]
    arrays = dict(zip(("x", "w", "b", "dy"), inputs(case, np.float64, "specials")))
    for array, entries in SPECIALS[where].items():
        for index, value in entries:
            arrays[array][index] = value
    x, w, b, dy = arrays.values()
    y = FORMS[form].conv_transpose2d(x, w, b, **case.geometry)
    actual = (y, *FORMS[form].conv_transpose2d_backward(dy, x, w, b, **case.geometry))
    expected = torch_results(x, w, b, dy, **case.geometry)
    assert any(np.isnan(e).any() and np.isinf(e).any() for e in expected), "the case is too tame"
    for result, a, e in zip(("y", "dx", "dw", "db"), actual, expected):
        assert np.array_equal(np.isnan(a), np.isnan(e)), f"{result}: NaN where PyTorch has none"
        infinite = np.isinf(e)
        assert np.array_equal(np.isinf(a), infinite), f"{result}: inf where PyTorch has none"
        assert np.array_equal(a[infinite], e[infinite]), f"{result}: an infinity of the wrong sign"


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("form", FORMS)
def test_empty_batch_gives_empty_results_of_torchs_shapes(form: str) -> None:
    x, w = np.zeros((0, 4, 3, 3)), np.ones((4, 3, 2, 2))
    geometry = {"stride": 2, "output_padding": 1, "groups": 2}
    y = FORMS[form].conv_transpose2d(x, w, np.ones(6), **geometry)
    dx, dw, db = FORMS[form].conv_transpose2d_backward(
        np.zeros(y.shape), x, w, np.ones(6), **geometry
    )
    expected = torch_results(x, w, np.ones(6), np.zeros(y.shape), **geometry)
    for name, a, e in zip(("y", "dx", "dw", "db"), (y, dx, dw, db), expected):
        assert a.shape == e.shape, f"{name} has shape {a.shape}; PyTorch's is {e.shape}"
        assert np.array_equal(a, e), f"{name} differs from PyTorch"


@pytest.mark.parametrize("form", FORMS)
def test_plain_ints_pairs_and_defaults_agree(form: str) -> None:
    op = FORMS[form]
    x, w, b, _ = inputs(CASES["defaults"], np.float64, "spellings")
    as_ints = op.conv_transpose2d(x, w, b, 2, 1, 1, 1, 2)
    as_pairs = op.conv_transpose2d(x, w, b, (2, 2), (1, 1), (1, 1), 1, (2, 2))
    as_lists = op.conv_transpose2d(
        x, w, b, stride=[2, 2], padding=[1, 1], output_padding=[1, 1], dilation=[2, 2]
    )
    assert np.array_equal(as_ints, as_pairs) and np.array_equal(as_ints, as_lists)
    defaults = op.conv_transpose2d(x, w)
    spelled = op.conv_transpose2d(x, w, None, 1, 0, 0, 1, 1)
    assert np.array_equal(defaults, spelled)
    assert defaults.shape == (2, 3, 7, 6)  # (H - 1) + (k - 1) + 1 along each axis


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        (("float32", "float32", "float32", "float32"), np.float32),
        (("float64", "float64", "float64", "float64"), np.float64),
        (("float32", "float64", "float32", "float32"), np.float64),
        (("float32", "float32", "float64", "float32"), np.float64),
        (("float32", "float32", "float32", "float64"), None),  # dy: backward only
    ],
)
def test_results_take_the_common_dtype(form: str, dtypes: tuple[str, ...], expected) -> None:
    op = FORMS[form]
    x, w, b, dy = (
        a.astype(t) for a, t in zip(inputs(CASES["groups"], np.float64, "dtypes"), dtypes)
    )
    forward = np.result_type(x, w, b) if expected is None else expected
    assert op.conv_transpose2d(x, w, b, groups=2).dtype == forward
    backward = np.result_type(x, w, b, dy)
    for grad in op.conv_transpose2d_backward(dy, x, w, b, groups=2):
        assert grad.dtype == backward, f"a gradient has {grad.dtype}; expected {backward}"


X, W = np.zeros((2, 4, 5, 5)), np.zeros((4, 3, 3, 3))
ERRORS = {
    "stride_zero": (dict(stride=0), ValueError, r"^stride must be >= 1"),
    "stride_string": (dict(stride="2"), TypeError, r"^stride must be an int or a pair"),
    "padding_negative": (dict(padding=(0, -1)), ValueError, r"^padding must be >= 0"),
    "output_padding_negative": (
        dict(output_padding=-1),
        ValueError,
        r"^output_padding must be >= 0",
    ),
    "output_padding_not_below_stride": (
        dict(stride=2, output_padding=2),
        ValueError,
        r"^output_padding must be smaller than either stride or dilation; along the height",
    ),
    "output_padding_width_only": (
        dict(stride=(3, 2), dilation=(1, 2), output_padding=(2, 2)),
        ValueError,
        r"^output_padding .* along the width got output_padding=2 with stride=2 and dilation=2",
    ),
    "dilation_zero": (dict(dilation=0), ValueError, r"^dilation must be >= 1"),
    "groups_zero": (dict(groups=0), ValueError, r"^groups must be >= 1"),
    "groups_float": (dict(groups=2.0), TypeError, r"^groups must be an int"),
    "groups_not_dividing": (
        dict(groups=3),
        ValueError,
        r"^groups=3 must divide the input channels",
    ),
    "w_channels": (dict(w=np.zeros((3, 3, 3, 3))), ValueError, r"^w.shape\[0\]=3 must equal"),
    "b_length": (
        dict(b=np.zeros(4)),
        ValueError,
        r"^b must have one entry per output channel, shape \(3,\)",
    ),
    "b_length_with_groups": (
        dict(b=np.zeros(3), groups=2),
        ValueError,
        r"^b must have one entry per output channel, shape \(6,\)",
    ),
    "x_integer": (dict(x=np.zeros((2, 4, 5, 5), dtype=int)), TypeError, r"^x has dtype int64"),
    "w_three_d": (dict(w=np.zeros((4, 3, 3))), ValueError, r"^w must be a 4-D array"),
    "x_empty_channels": (
        dict(x=np.zeros((2, 0, 5, 5))),
        ValueError,
        r"^x \(N, C_in, H, W\) must not be empty",
    ),
    "output_too_small": (
        dict(padding=(1, 4)),
        ValueError,
        r"^padding=4 leaves no output width: .* = -1, and must be at least 1",
    ),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ERRORS)
def test_bad_arguments_raise_naming_the_argument(form: str, name: str) -> None:
    changes, error, message = ERRORS[name]
    call = {"x": X, "w": W, "b": None} | changes
    op = FORMS[form]
    with pytest.raises(error, match=message):
        op.conv_transpose2d(**call)
    dy = np.zeros((2, 3, 7, 7))
    with pytest.raises(error, match=message):
        op.conv_transpose2d_backward(dy, **call)


@pytest.mark.parametrize("form", FORMS)
def test_dy_of_the_wrong_shape_is_rejected(form: str) -> None:
    with pytest.raises(
        ValueError, match=r"^dy must have the shape of the forward output \(2, 3, 7, 7\)"
    ):
        FORMS[form].conv_transpose2d_backward(np.zeros((2, 3, 7, 6)), X, W)


# --- the student candidate: correct as built, and each bug a real departure ---------------


def student_results(candidate, case: Case, seed: str) -> tuple[np.ndarray, ...]:
    x, w, b, dy = inputs(case, np.float64, seed)
    y = candidate.conv_transpose2d(x, w, b, **case.geometry)
    return (y, *candidate.conv_transpose2d_backward(dy, x, w, b, **case.geometry))


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("name", CASES)
def test_student_without_bugs_matches_torch(name: str) -> None:
    case = CASES[name]
    x, w, b, dy = inputs(case, np.float64, name)
    actual = student_results(student.build(), case, name)
    expected = torch_results_of(name)
    assert_results_close(actual, expected, error_scales(x, w, b, dy, **case.geometry), FLOAT64_RTOL)


class Raised:
    """Stands for a result the candidate raised on instead of returning."""


def results_or_raised(op, case: Case, seed: str) -> tuple:
    """y, dx, dw, db of ``op`` on the case, each call's results replaced by ``Raised`` if it
    raises: a shape clash in the backward must not hide a departure in the forward."""
    x, w, b, dy = inputs(case, np.float64, seed)
    try:
        y = op.conv_transpose2d(x, w, b, **case.geometry)
    except (ValueError, IndexError):
        y = Raised()
    try:
        grads = op.conv_transpose2d_backward(dy, x, w, b, **case.geometry)
    except (ValueError, IndexError):
        grads = (Raised(),) * 3
    return (y, *grads)


def departs(actual: tuple, expected: tuple) -> bool:
    """Whether some result the candidate returned differs from the reference's, in shape or
    beyond rounding (what it raised on proves nothing either way)."""
    for a, e in zip(actual, expected):
        if isinstance(a, Raised):
            continue
        if (a is None) != (e is None):
            return True
        if e is not None and (a.shape != e.shape or not np.allclose(a, e, rtol=1e-7, atol=1e-7)):
            return True
    return False


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize("bug", student.BUGS)
def test_each_student_bug_departs_from_torch_somewhere(bug: str) -> None:
    """Each bug is real: on some case of the grid it returns results that differ from
    PyTorch's (the correct build matches them, above)."""
    candidate = student.build(bug)
    departed = next(
        (
            name
            for name, case in CASES.items()
            if departs(results_or_raised(candidate, case, name), torch_results_of(name))
        ),
        None,
    )
    assert departed is not None, f"{bug} matches PyTorch on every case of the grid"


def test_student_bug_names_are_rejected_when_unknown() -> None:
    with pytest.raises(ValueError, match="unknown bugs"):
        student.build("no_such_bug")
