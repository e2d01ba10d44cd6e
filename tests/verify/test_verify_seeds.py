"""How a run draws its examples: each property its own, reproducibly; small failures found small.

Each property's search is seeded from the run's seed (or the CI profile's) and its name,
so properties draw different examples and a re-run draws the same ones; a failure that
shrinking left large is searched for again among small examples; and every reported
failure prints its arrays when they are small enough to read.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import cnnref.verify.runner as runner
from cnnref.checks import property_named
from cnnref.checks.compare import describe_inputs
from cnnref.strategies import SIZE_CLASSES, ConvCase, PoolCase, conv_cases, pool_cases
from cnnref.verify import check_example, failures, verify
from cnnref.verify.candidate import LoadedCandidate
from tests.strategies.test_strategies import draws

pytestmark = pytest.mark.slow  # verifies candidates at several seeds

CATALOGUE = "tests.candidates.catalogue"
TWO = ["conv2d.matches_reference", "conv2d.contract"]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """property name -> the cases it was given, in order, for every run in the test."""
    cases: dict[str, list] = {}
    evaluate = runner.evaluate

    def recording(prop, candidate, case):
        cases.setdefault(prop.name, []).append(case)
        return evaluate(prop, candidate, case)

    monkeypatch.setattr(runner, "evaluate", recording)
    return cases


def _draws(drawn: dict[str, list], properties: list[str], seed: int | None) -> dict[str, list]:
    drawn.clear()
    result = verify("cnnref", properties=properties, seed=seed, examples=15, isolate=False)
    assert result.passed, result.explain()
    return {name: list(cases) for name, cases in drawn.items()}


@pytest.mark.parametrize("ci", [False, True], ids=["seed 3", "CI=true"])
def test_two_properties_draw_different_examples_and_a_rerun_draws_the_same(
    ci: bool, drawn: dict[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true" if ci else "")
    seed = None if ci else 3
    together = _draws(drawn, TWO, seed)
    first, second = (together[name] for name in TWO)
    assert len(first) == len(second) == 15
    # Different geometries, not only different values.
    assert {replace(c, seed=0) for c in first} != {replace(c, seed=0) for c in second}
    # A property run alone (as the printed reproduce command runs it) draws the same again.
    assert _draws(drawn, TWO[:1], seed)[TWO[0]] == first


def test_the_seed_of_a_property_is_the_same_in_every_process() -> None:
    """A stable hash: Python's own hash() of a string differs from one process to the next."""
    code = "from cnnref.verify.runner import property_seed; print(property_seed(5, 'x.y'))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        cwd=Path(runner.__file__).parents[2],
    )
    assert int(other.stdout) == runner.property_seed(5, "x.y")
    assert runner.property_seed(5, "x.y") != runner.property_seed(5, "x.z")
    assert runner.property_seed(5, "x.y") != runner.property_seed(6, "x.y")


def test_without_a_seed_outside_ci_the_search_is_random_with_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "")
    assert runner.property_seed(None, "x.y") is None
    monkeypatch.setenv("CI", "true")
    assert runner.property_seed(None, "x.y") is not None


@pytest.mark.parametrize("ci", [False, True], ids=["seed 3", "CI=true"])
def test_a_failure_is_reproduced_by_its_property_alone(
    ci: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reproduce command runs one property; a run of several found the same example."""
    monkeypatch.setenv("CI", "true" if ci else "")
    bug, prop = f"{CATALOGUE}:zero_padding", "max_pool2d.matches_reference"
    seed = None if ci else 3
    several = verify(bug, properties=["max_pool2d.contract", prop], seed=seed, isolate=False)
    alone = verify(bug, properties=[prop], seed=seed, isolate=False)
    (failure,) = [p.failure for p in several.properties if p.failure]
    assert failure.case == alone.properties[0].failure.case
    command = f"--property {prop} --examples 100" + ("" if ci else " --seed 3")
    assert failure.reproduce_command.endswith(command)


# ---------------------------------------------------------------- small failures found small

LARGE_IMAGES = tuple(size for size in SIZE_CLASSES if size.name == "large image")


def _run(bug: str, name: str, *, examples: int = 100, large_first: bool = False):
    """``bug``'s run through property ``name`` at seed 0, in this process.

    ``large_first``: the main search draws only large images, as a run does whose first
    failure is on a large input, so the search of small examples must find the small one.
    """
    prop = property_named(name)
    if large_first:
        cases = prop.cases

        def large_then_small(dtype, unsupported, windows="partial", sizes=SIZE_CLASSES):
            return cases(
                dtype, unsupported, windows, LARGE_IMAGES if sizes is SIZE_CLASSES else sizes
            )

        prop = replace(prop, cases=large_then_small)
    candidate = LoadedCandidate.load(f"{CATALOGUE}:{bug}")
    return runner.run_property(
        prop,
        candidate,
        target=f"{CATALOGUE}:{bug}",
        unsupported=frozenset(),
        run=runner.RunSettings(examples=examples, seed=0),
    )


def test_sizes_limit_the_draws_to_those_classes() -> None:
    small = runner.SMALL_SIZES
    (only,) = small
    conv = draws(conv_cases(sizes=small), 80)
    pool = draws(pool_cases(sizes=small), 80)
    for case in conv + pool:
        assert case.batch <= only.batch[1] and max(case.height, case.width) <= only.side[1], case
    assert max(c.in_channels // c.groups for c in conv) <= only.channels[1]
    # Without sizes=, the other classes are drawn too.
    assert any(max(case.height, case.width) > only.side[1] for case in draws(pool_cases(), 80))


def test_a_failure_first_shrunk_on_a_large_input_is_reported_on_a_small_one() -> None:
    """Backward windows that overlap must add: two windows over three pixels show it."""
    result = _run("overlap_assigned", "max_pool2d_backward.matches_reference", large_first=True)
    failure = result.failure
    case = eval(failure.case, {"MaxPoolCase": PoolCase})
    assert result.status == "failed" and not case.sizes_reached(), failure.case
    assert runner.input_elements(case) <= 2 * 2 * 12 * 12, failure.case
    (note,) = [hint for hint in failure.hints if "a search of small examples found" in hint]
    first = eval(note.split("elements: ", 1)[1][:-1], {"MaxPoolCase": PoolCase})
    assert min(first.height, first.width) > 40, "the main search shrank to a large input"
    assert not any("no smaller example failed" in hint for hint in failure.hints), failure.hints
    assert "ADD its gradient (+=)" in result.explain()
    # The reported example shows the bug by itself.
    with pytest.raises(AssertionError, match="falsified"):
        check_example(f"{CATALOGUE}:overlap_assigned", result.name, case, isolate=False)


def test_a_bug_that_needs_a_large_input_keeps_it() -> None:
    """Scatter indices in uint8 wrap past 255 positions: no small example can show it."""
    result = _run(
        "index_uint8", "max_pool2d_backward.matches_reference", examples=10, large_first=True
    )
    failure = result.failure
    assert result.status == "failed"
    assert eval(failure.case, {"MaxPoolCase": PoolCase}).sizes_reached(), failure.case
    assert any("found no smaller failure" in hint for hint in failure.hints), failure.hints


# ---------------------------------------------------------------- arrays printed


@pytest.mark.parametrize(
    ("bug", "name", "shown"),
    [
        ("pool_backward_float32", "max_pool2d_backward.contract", ("x", "dy")),
        ("pool_view_for_unit_kernel", "max_pool2d.contract", ("x",)),
    ],
)
def test_a_failure_prints_its_small_inputs(bug: str, name: str, shown: tuple[str, ...]) -> None:
    failure = _run(bug, name, examples=20).failure
    case = eval(failure.case, {"MaxPoolCase": PoolCase, "ConvCase": ConvCase})
    arrays = case.arrays()._asdict()
    expected = {key: arrays[key] for key in arrays if key in shown or key == "b"}
    assert describe_inputs(expected) in failure.message, failure.message
    assert failure.message.count("inputs:") == 1
    assert ("  dy =" in failure.message) == ("dy" in shown)


def test_an_exception_the_candidate_raised_is_reported_with_the_inputs() -> None:
    case = ConvCase(1, 1, 1, 2, 2, (1, 2), bias=False)
    with pytest.raises(AssertionError, match="raised NotImplementedError") as raised:
        check_example(f"{CATALOGUE}:raises", "conv2d_backward.matches_reference", case)
    x, w, _, dy = case.arrays()
    assert describe_inputs({"x": x, "w": w, "dy": dy}) in str(raised.value)


def test_inputs_already_shown_are_not_shown_again_and_large_ones_are_not_shown() -> None:
    failure = _run("zero_padding", "max_pool2d.matches_reference").failure
    assert failure.message.count("\ninputs:\n") == 1, failure.message
    prop = property_named("max_pool2d_backward.contract")
    large = PoolCase(1, 1, 7, 7, (2, 2))  # 49 elements: past what a person reads
    assert failures.with_inputs("wrong", large, prop) == "wrong"
    small = PoolCase(1, 1, 2, 2, (2, 2))
    assert failures.with_inputs("wrong", small, prop).startswith("wrong\ninputs:\n  x =")


def test_a_search_draws_no_constants_from_the_modules_imported_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hypothesis mixes constants read from imported local modules into its draws, so a
    seeded run inside a pytest session that had imported other modules drew other examples
    than the printed reproduce command.  Within a property's search the pool is empty."""
    from hypothesis.internal.conjecture import providers

    (tmp_path / "cnnref_some_constants.py").write_text("SIZES = (41, 43, 47)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("cnnref_some_constants")
    assert len(providers._get_local_constants()) > 0
    seen: list[int] = []
    evaluate = runner.evaluate

    def counting(prop, candidate, case):
        seen.append(len(providers._get_local_constants()))
        return evaluate(prop, candidate, case)

    monkeypatch.setattr(runner, "evaluate", counting)
    result = verify("cnnref", properties=TWO[:1], seed=3, examples=5, isolate=False)
    assert result.passed, result.explain()
    assert seen == [0] * 5
    assert len(providers._get_local_constants()) > 0  # and it is restored after
