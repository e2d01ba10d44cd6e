"""Declared conventions: what a candidate may declare, the reference's options, and verdicts under them.

The three candidates of ``tests/candidates/conventions.py`` are plain loops
following a convention on purpose (ties split, NaN ignored, zero padding):
each must pass under its declaration and fail under PyTorch's, the default.
"""

from __future__ import annotations

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings

from cnnref import declarations
from cnnref.declarations import CONVENTIONS, Conventions, parse
from cnnref.ops.arguments import effective_kernel
from cnnref.ops.max_pool2d.geometry import POOL_CONVENTIONS, PoolGeometry
from cnnref.reference import fast, literal
from cnnref.report import report_dict, report_schema
from cnnref.report.html_report import render_html
from cnnref.report.junit_report import render_junit
from cnnref.strategies import PoolCase, conv_cases, pool_cases
from cnnref.verify import check_example, declare, verify
from cnnref.verify.candidate import IsolatedCandidate
from cnnref.verify.cli import summary_table
from tests.candidates import conventions
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # verifies each declared convention

TARGETS = "tests.candidates.conventions"
FORMS = {"fast": fast, "literal": literal}


# ---------------------------------------------------------------- declarations


def test_a_flat_conventions_dict_applies_to_both_pool_functions_ties_to_the_backward() -> None:
    declared = parse(conventions={"ties": "split", "nan": "ignore"})
    assert declared.conventions_for("max_pool2d") == Conventions(nan="ignore")
    assert declared.conventions_for("max_pool2d_backward") == Conventions(
        ties="split", nan="ignore"
    )
    assert declared.conventions_for("conv2d") == Conventions()


def test_conventions_per_function_and_per_group() -> None:
    declared = parse(
        conventions={"pool": {"pad_value": "zeros"}, "max_pool2d_backward": {"ties": "split"}}
    )
    assert declared.conventions_for("max_pool2d") == Conventions(pad_value="zeros")
    assert declared.conventions_for("max_pool2d_backward") == Conventions(
        ties="split", pad_value="zeros"
    )


BAD_DECLARATIONS = {
    "unknown convention": (
        {"conventions": {"pool": {"tie": "split"}}},
        "CNNREF_CONVENTIONS['pool'] names unknown convention 'tie'; known conventions: "
        "['accumulation', 'nan', 'pad_value', 'ties', 'windows']",
    ),
    "unknown value": (
        {"conventions": {"max_pool2d_backward": {"ties": "spread"}}},
        "CNNREF_CONVENTIONS['max_pool2d_backward']: ties must be one of ['first', 'split']; "
        "got 'spread'",
    ),
    "ties on the forward": (
        {"conventions": {"max_pool2d": {"ties": "split"}}},
        "ties is a convention of max_pool2d_backward only, not of max_pool2d",
    ),
    "conventions of conv2d": (
        {"conventions": {"conv2d": {"nan": "ignore"}}},
        "nan is a convention of max_pool2d, max_pool2d_backward only, not of conv2d",
    ),
    "not a function": (
        {"conventions": {"maxpool": {"nan": "ignore"}}},
        "CNNREF_CONVENTIONS has a key 'maxpool' that is no function",
    ),
    "conventions not a dict": (
        {"conventions": ["split"]},
        "CNNREF_CONVENTIONS must be a dict such as {'ties': 'split'}; got list",
    ),
    "a feature the function lacks": (
        {"unsupported": {"max_pool2d": {"groups"}}},
        "CNNREF_UNSUPPORTED['max_pool2d'] names ['groups'], which max_pool2d does not have; "
        "features of max_pool2d: [",
    ),
    "unknown feature per function": (
        {"unsupported": {"conv": {"grups"}}},
        "CNNREF_UNSUPPORTED['conv'] names unknown features ['grups']",
    ),
    "a bare string": (
        {"unsupported": "groups"},
        "CNNREF_UNSUPPORTED must be a set of feature names such as {'groups'}; got 'groups'",
    ),
}


@pytest.mark.parametrize("name", BAD_DECLARATIONS)
def test_a_bad_declaration_is_refused_naming_what_and_where(name: str) -> None:
    raw, message = BAD_DECLARATIONS[name]
    with pytest.raises(ValueError) as raised:
        parse(**raw)
    assert message in str(raised.value), str(raised.value)


def test_old_feature_names_are_aliases_for_the_split_ones() -> None:
    declared = parse(unsupported={"padding", "non_square"})
    assert declared.unsupported_for("conv2d") == {
        "conv_padding",
        "non_square_input",
        "non_square_geometry",
    }
    assert declared.unsupported_for("max_pool2d") == {
        "pool_padding",
        "non_square_input",
        "non_square_geometry",
    }


def test_unsupported_per_function_and_the_module_level_set_still_applies_everywhere() -> None:
    declared = parse(unsupported={"conv2d": {"groups"}, "pool": {"ceil_mode", "padding"}})
    assert declared.unsupported_for("conv2d") == {"groups"}
    assert declared.unsupported_for("conv2d_backward") == frozenset()
    assert declared.unsupported_for("max_pool2d_backward") == {"ceil_mode", "pool_padding"}
    everywhere = parse(unsupported={"dilation", "groups"})
    assert everywhere.unsupported_for("max_pool2d") == {"dilation"}
    assert everywhere.unsupported_for("conv2d_backward") == {"dilation", "groups"}


def test_nothing_declared_means_pytorchs_conventions_and_every_feature() -> None:
    for declared in (parse(), parse(None, None), parse((), {})):
        assert declared.unsupported_for(*declarations.FUNCTIONS) == frozenset()
        assert declared.conventions_for("max_pool2d_backward") == Conventions()


def test_declare_validates_before_it_sets_the_attributes() -> None:
    class Layers:
        pass

    layers = declare(Layers(), unsupported={"groups"}, conventions={"ties": "split"})
    assert declarations.read(layers).conventions_for("max_pool2d_backward").ties == "split"
    other = Layers()
    with pytest.raises(ValueError, match="ties must be one of"):
        declare(other, conventions={"ties": "both"})
    assert not hasattr(other, "CNNREF_CONVENTIONS")


def test_every_convention_value_is_implemented_by_the_reference_and_described() -> None:
    # accumulation, every function's, sets a tolerance (docs/tolerances.md): the reference has none.
    pooling = {
        name: tuple(values) for name, values in CONVENTIONS.items() if name != "accumulation"
    }
    assert pooling == POOL_CONVENTIONS
    defaults = Conventions().as_dict()
    assert defaults.pop("accumulation") == "float32"
    assert defaults == {name: values[0] for name, values in POOL_CONVENTIONS.items()}


def test_declarations_travel_through_the_candidate_process() -> None:
    candidate = IsolatedCandidate(f"{TARGETS}:per_function").start()
    try:
        assert candidate.declarations == parse(
            unsupported={"conv2d": {"groups"}, "pool": {"ceil_mode", "padding"}},
            conventions={"max_pool2d": {"windows": "exact"}},
        )
    finally:
        candidate.close()


def test_a_bad_declaration_is_a_usage_error_on_the_command_line() -> None:
    run = cnnref("verify", "--impl", f"{TARGETS}:unknown_value")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "ties must be one of ['first', 'split']; got 'spread'" in run.stderr
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- strategies


def draws(strategy, count: int) -> list:
    found = []

    @settings(max_examples=count, database=None, derandomize=True)
    @given(strategy)
    def collect(case) -> None:
        found.append(case)

    collect()
    return found


def test_pool_padding_and_conv_padding_are_separate_features() -> None:
    assert all(
        case.padding == (0, 0) for case in draws(pool_cases(unsupported={"pool_padding"}), 80)
    )
    conv = draws(conv_cases(unsupported={"pool_padding"}), 80)
    assert any(case.padding != (0, 0) for case in conv), (
        "pool_padding must not turn off conv padding"
    )


def test_non_square_input_and_non_square_geometry_are_separate_features() -> None:
    square_inputs = draws(pool_cases(unsupported={"non_square_input"}), 80)
    assert all(case.height == case.width for case in square_inputs)
    assert any(case.kernel_size[0] != case.kernel_size[1] for case in square_inputs)
    square_geometry = draws(pool_cases(unsupported={"non_square_geometry"}), 80)
    assert all(case.kernel_size[0] == case.kernel_size[1] for case in square_geometry)
    assert any(case.height != case.width for case in square_geometry)


def test_exact_windows_draw_only_geometries_the_windows_tile() -> None:
    cases = draws(pool_cases(windows="exact"), 120)
    assert any(case.ceil_mode for case in cases) and any(case.padding != (0, 0) for case in cases)
    for case in cases:
        geometry = PoolGeometry.from_args(**case.geometry)
        for side, k, s, p, d in zip(
            (case.height, case.width),
            geometry.kernel_size,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
        ):
            assert (side + 2 * p - effective_kernel(k, d)) % s == 0, case
        x, _ = case.arrays()
        fast.max_pool2d(x, **case.geometry, windows="exact")  # accepted


# ---------------------------------------------------------------- the reference's options


def row(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64).reshape(1, 1, 1, -1)


@pytest.mark.parametrize("form", FORMS)
def test_split_ties_share_dy_evenly_between_the_tied_maxima(form: str) -> None:
    pool = FORMS[form]
    x, dy = row(1, 3, 3, 2), row(1.5)
    assert pool.max_pool2d_backward(dy, x, (1, 4)).tolist() == row(0, 1.5, 0, 0).tolist()
    split = pool.max_pool2d_backward(dy, x, (1, 4), ties="split")
    assert split.tolist() == row(0, 0.75, 0.75, 0).tolist()
    # NaN wins a window; with ties split, its NaNs share dY.
    nans = pool.max_pool2d_backward(dy, row(np.nan, 3, np.nan, 2), (1, 4), ties="split")
    assert nans.tolist() == row(0.75, 0, 0.75, 0).tolist()


@pytest.mark.parametrize("form", FORMS)
def test_ignored_nan_is_skipped_and_a_window_of_nan_only_gives_nan_and_routes_nothing(
    form: str,
) -> None:
    pool = FORMS[form]
    x, dy = row(np.nan, 1, np.nan, 2, np.nan, np.nan), row(1.0, 2.0, 4.0)
    y = pool.max_pool2d(x, (1, 2), nan="ignore")
    assert y[0, 0, 0, :2].tolist() == [1.0, 2.0] and np.isnan(y[0, 0, 0, 2])
    dx = pool.max_pool2d_backward(dy, x, (1, 2), nan="ignore")
    assert dx.tolist() == row(0, 1, 0, 2, 0, 0).tolist()
    default = pool.max_pool2d(x, (1, 2))
    assert np.isnan(default).all(), "PyTorch's convention: NaN wins every window here"


@pytest.mark.parametrize("form", FORMS)
def test_zero_padding_competes_and_the_gradient_it_wins_is_dropped(form: str) -> None:
    pool = FORMS[form]
    x, dy = row(-1, -2, 3), row(1.0, 2.0)
    # Windows of 2, padding 1 each side: [pad, -1], [-2, 3] (the right pad is never reached).
    assert pool.max_pool2d(x, (1, 2), padding=(0, 1)).tolist() == row(-1, 3).tolist()
    assert (
        pool.max_pool2d(x, (1, 2), padding=(0, 1), pad_value="zeros").tolist() == row(0, 3).tolist()
    )
    dx = pool.max_pool2d_backward(dy, x, (1, 2), padding=(0, 1), pad_value="zeros")
    assert dx.tolist() == row(0, 0, 2).tolist()
    # A tie between the padding and an in-bounds zero, split: half of dY reaches the input.
    tie = pool.max_pool2d_backward(
        dy, row(0, -2, 3), (1, 2), padding=(0, 1), pad_value="zeros", ties="split"
    )
    assert tie.tolist() == row(0.5, 0, 2).tolist()


@pytest.mark.parametrize("form", FORMS)
def test_bad_options_and_untiled_windows_are_value_errors_naming_the_rule(form: str) -> None:
    pool = FORMS[form]
    with pytest.raises(
        ValueError,
        match=r"pad_value must be one of \['-inf', 'zeros', '-inf-competes'\]; got 'zero'",
    ):
        pool.max_pool2d(row(1, 2), (1, 2), pad_value="zero")
    with pytest.raises(
        ValueError,
        match="windows='exact': along the width, windows of kernel_size=2, dilation=1, stride=2 leave 1",
    ):
        pool.max_pool2d(row(1, 2, 3), (1, 2), windows="exact")


def test_central_differences_of_a_two_way_tie_are_the_split_gradient() -> None:
    """At a tie max(a, b) has no derivative; its symmetric derivative is 1/2 for each of a
    pair, which is what ties="split" routes (for three or more tied it is not: split is then a
    convention, checked against the reference, not against finite differences)."""
    x, dy, step = row(2, 2, -1, 1), row(1.0, 1.0), 2.0**-6
    numerical = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bump = np.zeros_like(x)
        bump[index] = step
        up, down = fast.max_pool2d(x + bump, (1, 2)), fast.max_pool2d(x - bump, (1, 2))
        numerical[index] = np.vdot(up - down, dy) / (2 * step)
    assert fast.max_pool2d_backward(dy, x, (1, 2), ties="split").tolist() == numerical.tolist()
    assert numerical.tolist() == row(0.5, 0.5, 0, 1).tolist()


# ---------------------------------------------------------------- verdicts under a declaration

# Per candidate: the property PyTorch's convention fails it on, and a small example that shows it.
SHOWN_BY = {
    "ties_split": (
        "max_pool2d_backward.matches_reference",
        PoolCase(1, 1, 1, 2, (1, 2), values="ties", seed=1),
        "declare CNNREF_CONVENTIONS = {'ties': 'split'}",
    ),
    "nan_ignored": (
        "max_pool2d.matches_reference",
        PoolCase(1, 1, 1, 2, (1, 2), values="nan", seed=0),
        "declare CNNREF_CONVENTIONS = {'nan': 'ignore'}",
    ),
    "zero_padded": (
        "max_pool2d.matches_reference",
        PoolCase(1, 2, 1, 1, (1, 2), padding=(0, 1), seed=0),
        "declare CNNREF_CONVENTIONS = {'pad_value': 'zeros'}",
    ),
}
# The properties a declared convention changes, and PyTorch's, which it puts out of reach.
UNDER_CONVENTION = [
    "max_pool2d.matches_reference",
    "max_pool2d.contract",
    "max_pool2d_backward.matches_reference",
    "max_pool2d_backward.finite_differences",
    "max_pool2d_backward.conservation_and_support",
]
TORCH = ["max_pool2d.matches_torch", "max_pool2d_backward.matches_torch"]


@pytest.mark.parametrize("name", SHOWN_BY)
def test_a_convention_fails_under_pytorchs_and_passes_where_declared_on_one_example(
    name: str,
) -> None:
    prop, case, hint = SHOWN_BY[name]
    with pytest.raises(AssertionError) as raised:
        check_example(f"{TARGETS}:{name}_undeclared", prop, case)
    assert hint in str(raised.value), str(raised.value)
    check_example(f"{TARGETS}:{name}", prop, case)  # raises if it fails


@pytest.mark.parametrize("name", SHOWN_BY)
def test_a_declared_convention_passes_every_property_it_changes(name: str) -> None:
    declared = declarations.read(getattr(conventions, name))
    result = verify(f"{TARGETS}:{name}", properties=UNDER_CONVENTION + TORCH, examples=10, seed=0)
    assert result.passed, result.explain()
    statuses = {p.name: p.status for p in result.properties}
    assert all(statuses[prop] == "passed" for prop in UNDER_CONVENTION), statuses
    for prop in result.properties:
        assert prop.conventions == declared.conventions_for(prop.function).as_dict()
        conventions_used = declared.conventions_for(prop.function)
        options = conventions_used.reference_options(prop.function)
        if prop.name in TORCH and any(Conventions().as_dict()[k] != v for k, v in options.items()):
            (reason,) = prop.not_covered  # ties does not change the forward: that one is checked
            assert prop.status == "not covered", prop.status
            assert "which PyTorch does not follow" in reason and "the candidate declares" in reason
        else:
            assert prop.status == "passed", (prop.name, prop.status)


@pytest.mark.parametrize("name", SHOWN_BY)
def test_an_undeclared_convention_fails_under_pytorchs(name: str) -> None:
    prop, _, hint = SHOWN_BY[name]
    result = verify(f"{TARGETS}:{name}_undeclared", properties=[prop], examples=25, seed=0)
    assert not result.passed
    (failed,) = result.failures
    assert hint in " ".join(failed.failure.hints), failed.failure.hints


def test_a_wrong_declaration_fails_and_the_hint_names_the_convention_followed() -> None:
    prop, case, _ = SHOWN_BY["ties_split"]
    with pytest.raises(AssertionError) as raised:
        check_example(f"{TARGETS}:misdeclared_split", prop, case)
    assert (
        "the result matches the convention ties='first', but the candidate declares ties='split'"
        in str(raised.value)
    ), str(raised.value)


def test_a_declared_convention_excuses_no_bug() -> None:
    prop, case, _ = SHOWN_BY["ties_split"]
    with pytest.raises(AssertionError, match="dx: 2 of 2 elements differ"):
        check_example(f"{TARGETS}:ties_to_all_declared_split", prop, case)
    conservation = "max_pool2d_backward.conservation_and_support"
    with pytest.raises(AssertionError, match="sum"):  # all of dY twice is not conserved
        check_example(f"{TARGETS}:ties_to_all_declared_split", conservation, case)


def test_every_report_states_the_conventions_it_checked() -> None:
    result = verify(
        f"{TARGETS}:ties_split",
        properties=["max_pool2d.matches_reference", "max_pool2d_backward.matches_reference"],
        examples=5,
        seed=0,
    )
    line = "pooling conventions checked: max_pool2d: PyTorch's; max_pool2d_backward: ties=split"
    assert line in summary_table(result), summary_table(result)
    report = report_dict(result)
    jsonschema.validate(report, report_schema())
    assert report["settings"]["declared"]["max_pool2d_backward"]["conventions"]["ties"] == "split"
    assert [p["conventions"]["ties"] for p in report["properties"]] == ["first", "split"]
    assert line in render_junit(report)
    html = render_html(report)
    assert "checked under the conventions <code>ties=split</code>" in html
    assert "declared for max_pool2d_backward" in html


def test_exact_windows_are_a_restriction_on_the_geometries_drawn() -> None:
    result = verify(
        f"{TARGETS}:tiles_only", properties=["max_pool2d.matches_reference"], examples=20, seed=0
    )
    assert result.passed, result.explain()
    (prop,) = result.properties
    assert prop.status == "passed" and prop.examples == 20
    assert any("declared windows='exact'" in reason for reason in prop.not_covered)


def test_a_pool_routing_to_the_first_nan_passes_as_declared_and_is_named_without() -> None:
    properties = [
        "max_pool2d.matches_reference",
        "max_pool2d_backward.matches_reference",
        "max_pool2d_backward.conservation_and_support",
    ]
    declared = verify(
        "tests.candidates.conventions:first_nan", properties=properties, examples=60, seed=0
    )
    assert declared.passed, declared.explain()
    case = PoolCase(
        batch=1, channels=1, height=1, width=3, kernel_size=(1, 3), values="nan", seed=0
    )
    x = case.arrays().x.ravel()
    assert np.isnan(x).sum() >= 2, "the window must hold two NaNs"
    with pytest.raises(AssertionError, match=r"declare CNNREF_CONVENTIONS = \{'nan': 'first'\}"):
        check_example(
            "tests.candidates.conventions:first_nan_undeclared",
            "max_pool2d_backward.matches_reference",
            case,
        )
