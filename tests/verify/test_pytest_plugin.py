"""The pytest plugin and API, used the way a project with its own candidate uses them."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from cnnref.checks import PROPERTIES
from cnnref.verify import select_properties
from tests.conftest import require

pytestmark = pytest.mark.slow  # pytest sessions that each verify a candidate

ROOT = Path(__file__).resolve().parents[2]


# Each session runs in this process (runpytest_inprocess), where PyTorch, SciPy and Hypothesis
# are already imported: a second or two saved per session.  The candidates still run in their
# own processes, and so do a session's xdist workers.
@pytest.fixture
def project(
    pytester_in_process: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A scratch project that can import this repository's test candidates."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.syspath_prepend(str(ROOT))
    return pytester_in_process


def test_impl_option_adds_one_item_per_property(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--cnnref-impl", "cnnref", "--cnnref-examples", "5", "-q")
    result.assert_outcomes(passed=len(PROPERTIES))


def test_a_failing_property_shows_its_explanation_not_a_traceback(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(
        "--cnnref-impl",
        "tests.candidates.catalogue:ties_last",
        "--cnnref-examples",
        "30",
        "--cnnref-seed",
        "0",
        "--cnnref-ops",
        "max_pool2d_backward",
        "-k",
        "matches_reference",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*FAILED max_pool2d_backward.matches_reference*", "*FIRST maximum*", "*reproduce:*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_forbid_fences_the_candidate_of_a_plugin_item(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(
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
    result = project.runpytest_inprocess("-q", "-k", "conv2d_backward")
    result.assert_outcomes(passed=len(select_properties(["conv2d_backward"])))


def test_assert_verified_inside_a_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mine="""
        import pytest
        from cnnref.verify import assert_verified

        def test_correct():
            assert_verified("cnnref", ops=["pool"], examples=5)

        def test_buggy():
            with pytest.raises(AssertionError, match="FIRST maximum"):
                assert_verified(
                    "tests.candidates.catalogue:ties_last",
                    properties=["max_pool2d_backward.matches_reference"],
                    seed=0,
                )
        """
    )
    project.runpytest_inprocess("-q").assert_outcomes(passed=2)


def test_the_session_report_holds_items_and_api_calls(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mine="""
        from cnnref.verify import assert_verified

        def test_pool():
            assert_verified("cnnref", ops=["pool"], examples=3)
        """
    )
    result = project.runpytest_inprocess(
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
    conv2d, pool = select_properties(["conv2d"]), select_properties(["pool"])
    result.assert_outcomes(passed=len(conv2d) + 1)  # the conv2d items, and test_pool
    report = json.loads((project.path / "out.json").read_text())
    names = sorted(p["name"] for p in report["properties"])
    assert len(names) == len(conv2d) + len(pool), names  # the items, and the API call's pool
    assert (project.path / "out.html").read_text().startswith("<!DOCTYPE html>")


def test_xdist_workers_results_merge_into_one_report(project: pytest.Pytester) -> None:
    require(
        importlib.util.find_spec("xdist") is not None, "pytest-xdist (pip install -e '.[test]')"
    )
    # The max pool's properties only (both workers get some): the merge is what is tested.
    result = project.runpytest_inprocess(
        "-n",
        "2",
        "--cnnref-impl",
        "cnnref",
        "--cnnref-examples",
        "3",
        "--cnnref-ops",
        "max_pool",
        "--cnnref-report",
        "merged.json",
    )
    pool = sorted(p.name for p in select_properties(["max_pool"]))
    result.assert_outcomes(passed=len(pool))
    report = json.loads((project.path / "merged.json").read_text())
    assert sorted(p["name"] for p in report["properties"]) == pool
    assert report["passed"] is True


def test_a_bad_report_path_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--cnnref-report", "out.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--cnnref-report out.txt: the file name must end in .json, .html or .xml*"]
    )


def test_a_report_path_in_a_missing_directory_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--cnnref-report", "nosuch/x.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--cnnref-report nosuch/x.html: directory nosuch does not exist*"]
    )
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--cnnref-examples", "0"],
            "",
            "*argument --cnnref-examples: must be > 0 and finite; got 0*",
        ),
        (["--cnnref-examples", "-3"], "", "*argument --cnnref-examples: must be > 0 and finite*"),
        (["--cnnref-timeout", "0"], "", "*argument --cnnref-timeout: must be > 0 and finite*"),
        ([], "cnnref_examples = 0", "*cnnref_examples = 0 (ini file): must be > 0 and finite*"),
    ],
)
def test_bad_option_values_are_usage_errors(
    project: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    project.makeini(f"[pytest]\ncnnref_impl = cnnref\n{ini}\n")
    result = project.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    result.stderr.fnmatch_lines([message])


def test_the_pytest_script_imports_the_candidate_from_where_it_was_started(
    pytester: pytest.Pytester,
) -> None:
    """`pytest` (the script) does not put the current directory on the path; the plugin must."""
    pytester.makepyfile(mylayers="from cnnref import max_pool2d, max_pool2d_backward\n")
    script = Path(sys.executable).parent / "pytest"
    assert script.exists(), f"no pytest script beside {sys.executable}"
    result = pytester.run(
        script, "--cnnref-impl", "mylayers", "--cnnref-examples", "3", "-k", "contract", "-q"
    )
    # The two max_pool2d contracts pass; the other functions' are not covered (mylayers lacks them).
    contracts = [p for p in PROPERTIES if p.name.endswith(".contract")]
    result.assert_outcomes(passed=2, skipped=len(contracts) - 2)


def test_a_merged_report_counts_each_verification_once(project: pytest.Pytester) -> None:
    """Plugin items and an assert_verified call with the same settings are one verification;
    a call with other settings stays apart, with its own settings and its own HTML ids."""
    project.makepyfile(
        test_mine="""
        from cnnref.verify import assert_verified

        def test_pool():
            assert_verified("cnnref", ops=["pool"], examples=3, seed=0)

        def test_pool_forward_with_more_examples():
            assert_verified("cnnref", ops=["max_pool2d"], examples=4, seed=0)
        """
    )
    result = project.runpytest_inprocess(
        "--cnnref-impl",
        "cnnref",
        "--cnnref-examples",
        "3",
        "--cnnref-seed",
        "0",
        "--cnnref-ops",
        "max_pool2d",
        "--cnnref-report",
        "out.json",
        "--cnnref-report",
        "out.html",
    )
    forward = [p.name for p in PROPERTIES if p.function == "max_pool2d"]
    pool = [p.name for p in PROPERTIES if p.function.startswith("max_pool2d")]
    result.assert_outcomes(passed=len(forward) + 2)
    report = json.loads((project.path / "out.json").read_text())
    entries = [(p["name"], p["settings"]["examples"]) for p in report["properties"]]
    assert sorted(entries) == sorted([(name, 3) for name in pool] + [(name, 4) for name in forward])
    assert sum(report["summary"].values()) == len(entries)
    functions = [p["function"] for p in report["properties"]]
    assert functions == sorted(functions), "ordered by function, whatever order runs finished in"
    ids = re.findall(r' id="([^"]+)"', (project.path / "out.html").read_text())
    assert len(ids) == len(set(ids)), sorted(ids)


def test_the_pytest_script_finds_an_api_candidate_where_it_was_started(
    pytester: pytest.Pytester,
) -> None:
    """assert_verified("mylayers") in a test, under plain `pytest` and no --cnnref-impl."""
    pytester.makepyfile(mylayers="from cnnref import max_pool2d\n")
    pytester.makepyfile(
        test_mylayers="""
        from cnnref.verify import assert_verified

        def test_forward():
            assert_verified("mylayers", properties=["max_pool2d.contract"], examples=3)
        """
    )
    script = Path(sys.executable).parent / "pytest"
    result = pytester.run(script, "-q", "-p", "no:cacheprovider", "test_mylayers.py")
    result.assert_outcomes(passed=1)


def test_deselected_items_leave_a_true_count(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(
        "--cnnref-impl", "cnnref", "--cnnref-examples", "3", "-k", "conv2d.contract"
    )
    result.assert_outcomes(passed=1)
    total = len(PROPERTIES)
    result.stdout.fnmatch_lines([f"collected {total} items / {total - 1} deselected / 1 selected"])


def test_ops_option_keeps_those_functions_items(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(
        "--cnnref-impl", "cnnref", "--cnnref-ops", "pool,conv2d", "--collect-only", "-q"
    )
    wanted = {p.name for p in select_properties(["pool", "conv2d"])}
    listed = {line.rpartition("::")[2] for line in result.stdout.lines if "::" in line}
    assert listed == wanted, result.stdout.str()


def test_an_unknown_op_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--cnnref-impl", "cnnref", "--cnnref-ops", "conv3d")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cnnref-ops: unknown op 'conv3d'; choose from conv2d*"])


def test_strict_fails_a_plugin_item_whose_function_declared_a_feature_away(
    project: pytest.Pytester,
) -> None:
    arguments = ["--cnnref-impl", "tests.candidates.limited", "--cnnref-examples", "3"]
    arguments += ["--cnnref-seed", "0", "-k", "conv2d.matches_reference"]
    project.runpytest_inprocess(*arguments).assert_outcomes(passed=1)
    result = project.runpytest_inprocess(*arguments, "--cnnref-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CNNREF_UNSUPPORTED declares 'dilation', 'groups'*--strict*"])
