"""The pytest plugin and API, used the way a project with its own candidate uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnref.properties import PROPERTIES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A scratch project that can import this repository's test candidates."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.syspath_prepend(str(ROOT))
    return pytester


def test_impl_option_adds_one_item_per_property(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--cnnref-impl", "cnnref", "--cnnref-examples", "5", "-q")
    result.assert_outcomes(passed=18)


def test_a_failing_property_shows_its_explanation_not_a_traceback(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "--cnnref-impl",
        "tests.candidates.catalogue:ties_last",
        "--cnnref-examples",
        "30",
        "--cnnref-seed",
        "0",
        "-k",
        "max_pool2d_backward and matches_reference",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*FAILED max_pool2d_backward.matches_reference*", "*FIRST maximum*", "*reproduce:*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_forbid_fences_the_candidate_of_a_plugin_item(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "--cnnref-impl",
        "tests.candidates.forgers.imports_torch",
        "--cnnref-forbid",
        "torch",
        "--cnnref-memory",
        "2G",
        "--cnnref-examples",
        "3",
        "-k",
        "conv2d.matches_reference",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*importing 'torch' is forbidden in this verification*"])


def test_the_ini_file_names_the_candidate(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ncnnref_impl = cnnref\ncnnref_examples = 3\n")
    result = project.runpytest_subprocess("-q", "-k", "conv2d_backward")
    result.assert_outcomes(passed=5)


def test_assert_verified_inside_a_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mine="""
        import pytest
        from cnnref.verify import assert_verified

        def test_correct():
            assert_verified("cnnref", ops=["pool"], examples=5)

        def test_buggy():
            with pytest.raises(AssertionError, match="FIRST maximum"):
                assert_verified("tests.candidates.catalogue:ties_last", ops=["max_pool2d_backward"], seed=0)
        """
    )
    project.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_the_session_report_holds_items_and_api_calls(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mine="""
        from cnnref.verify import assert_verified

        def test_pool():
            assert_verified("cnnref", ops=["pool"], examples=3)
        """
    )
    result = project.runpytest_subprocess(
        "--cnnref-impl",
        "cnnref",
        "--cnnref-examples",
        "3",
        "-k",
        "conv2d and not backward or test_pool",
        "--cnnref-report",
        "out.json",
        "--cnnref-report",
        "out.html",
    )
    result.assert_outcomes(passed=6)
    report = json.loads((project.path / "out.json").read_text())
    names = sorted(p["name"] for p in report["properties"])
    assert len(names) == 5 + 8, names  # five conv2d items, eight pool properties from the API call
    assert (project.path / "out.html").read_text().startswith("<!DOCTYPE html>")


def test_xdist_workers_results_merge_into_one_report(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess(
        "-n",
        "2",
        "--cnnref-impl",
        "cnnref",
        "--cnnref-examples",
        "3",
        "--cnnref-report",
        "merged.json",
    )
    result.assert_outcomes(passed=18)
    report = json.loads((project.path / "merged.json").read_text())
    assert sorted(p["name"] for p in report["properties"]) == sorted(p.name for p in PROPERTIES)
    assert report["passed"] is True


def test_a_bad_report_path_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--cnnref-report", "out.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--cnnref-report out.txt: the file name must end in .json, .html or .xml*"]
    )
