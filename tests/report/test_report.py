"""Reports: the JSON validates against its schema, the HTML is self-contained and renders in a real browser."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from cnnref.checks import PROPERTIES
from cnnref.report import merge_reports, report_dict, report_schema, write_report
from cnnref.report.html_report import render_html
from cnnref.report.junit_report import render_junit
from cnnref.verify import verify
from tests.conftest import require
from tests.support.browser import Browser, find_chromium
from tests.support.once import json_once_per_run

pytestmark = pytest.mark.slow  # verifies candidates for its reports and drives a browser
SCHEMA = report_schema()


# Each report is a whole run, made once per test run and read back from its JSON.
@pytest.fixture(scope="module")
def passing(request: pytest.FixtureRequest) -> dict:
    return json_once_per_run(
        request, "passing_report", lambda: report_dict(verify("cnnref", examples=4, seed=3))
    )


@pytest.fixture(scope="module")
def failing(request: pytest.FixtureRequest) -> dict:
    def make() -> dict:
        candidate = "tests.candidates.catalogue:ties_last"
        return report_dict(verify(candidate, ops=["pool"], examples=20, seed=0))

    return json_once_per_run(request, "failing_report", make)


def test_reports_validate_against_the_schema(passing: dict, failing: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for report in (passing, failing, merge_reports([passing, failing])):
        jsonschema.validate(report, SCHEMA)
    assert passing["passed"] is True and failing["passed"] is False
    assert failing["summary"]["failed"] >= 1


def test_json_has_no_non_finite_numbers(failing: dict) -> None:
    text = json.dumps(failing, allow_nan=False)  # raises on NaN / Infinity
    assert '"inf"' in text, "an infinite ratio should be written as the string 'inf'"


def test_a_failure_carries_example_explanation_and_reproduction(failing: dict) -> None:
    failure = next(p["failure"] for p in failing["properties"] if p["failure"])
    assert failure["example"].startswith("MaxPoolCase(")
    assert "FIRST maximum" in " ".join(failure["hints"])
    assert failure["reproduce"]["command"].startswith(
        "cnnref verify --impl tests.candidates.catalogue:ties_last"
    )
    assert "check_example(" in failure["reproduce"]["python"]


def test_merged_report_keeps_every_property_and_the_verdict(passing: dict, failing: dict) -> None:
    merged = merge_reports([passing, failing])
    assert len(merged["properties"]) == len(passing["properties"]) + len(failing["properties"])
    assert merged["passed"] is False
    assert merged["candidate"] == "cnnref, tests.candidates.catalogue:ties_last"


EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["'](?!#)|url\(|@import|<script|<link|https?://(?!www\.w3\.org/2000/svg)""",
    re.I,
)


@pytest.mark.parametrize("which", ["passing", "failing"])
def test_the_html_is_self_contained(which: str, request: pytest.FixtureRequest) -> None:
    html = render_html(request.getfixturevalue(which))
    found = EXTERNAL.findall(html)
    assert not found, f"the page fetches or links outside itself: {found[:5]}"
    assert html.count("<svg") >= 1 and "<style>" in html


def test_junit_lists_every_property_as_a_test_case(failing: dict) -> None:
    suite = ET.fromstring(render_junit(failing))
    cases = suite.findall("testcase")
    assert len(cases) == len(failing["properties"])
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) >= 1
    failure = suite.find("testcase/failure")
    assert "reproduce:" in failure.text and "FIRST maximum" in failure.text


def test_write_report_picks_the_format_from_the_suffix(tmp_path: Path, passing: dict) -> None:
    for suffix in (".json", ".html", ".xml"):
        write_report(passing, tmp_path / f"r{suffix}")
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    ET.parse(tmp_path / "r.xml")
    with pytest.raises(ValueError, match=r"the suffix must be \.json, \.html or \.xml"):
        write_report(passing, tmp_path / "r.txt")


VISIBLE = """
(selector) => {
  const element = document.querySelector(selector);
  if (!element) return null;
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
}
"""


@pytest.mark.parametrize("which", ["passing", "failing"])
def test_the_page_renders_in_a_real_browser(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    chromium = find_chromium()
    require(chromium is not None, "Chromium (apt-get install chromium)")
    report = request.getfixturevalue(which)
    page = tmp_path / "report.html"
    write_report(report, page)
    with Browser(chromium) as browser:
        browser.open(page)
        visible = {
            selector: browser.evaluate(f"({VISIBLE})({json.dumps(selector)})")
            for selector in ("#verdict", "#summary-table", "svg.histogram")
        }
        verdict = browser.evaluate("document.querySelector('#verdict').innerText")
        rows = browser.evaluate("document.querySelectorAll('#summary-table tbody tr').length")
        problems = browser.problems()
    assert all(visible.values()), f"not visible: {[s for s, v in visible.items() if not v]}"
    assert verdict.startswith("✔ PASSED" if report["passed"] else "✘ FAILED"), verdict
    assert rows == len(report["properties"])
    assert problems == [], problems


def test_the_committed_report_of_the_reference_is_valid_current_and_passing() -> None:
    """reports/ holds the reference's report: it validates, passes every property, and its
    HTML is the current templates' rendering of its JSON (regenerate both if this fails)."""
    reports = Path(__file__).resolve().parents[2] / "reports"
    report = json.loads((reports / "verification.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["candidate"] == "cnnref" and report["passed"] is True
    assert len(report["properties"]) == len(PROPERTIES)
    assert {p["status"] for p in report["properties"]} == {"passed"}
    rendered = render_html(report)
    assert rendered == (reports / "verification.html").read_text(), (
        "reports/verification.html is stale: cnnref verify --seed 0 "
        "--json reports/verification.json --report reports/verification.html"
    )


def test_a_failed_row_never_reads_as_a_pass(failing: dict) -> None:
    """Its cell shows the failing example's ratio in red, or what went wrong: not the passes'."""
    from cnnref.report.html_report import worst_cell

    prop = next(p for p in failing["properties"] if p["failure"])
    assert 'class="over"' in worst_cell(prop), worst_cell(prop)
    exact = {"output": "y", "index": None, "ratio": 0.0}
    crashed = prop | {
        "worst": exact,
        "failure": prop["failure"] | {"kind": "crashed", "worst": None},
    }
    cell = worst_cell(crashed)
    assert "crashed" in cell and "exact" not in cell and "meter" not in cell, cell


def test_a_merge_keeps_a_failure_over_a_pass_over_not_covered(passing: dict, failing: dict) -> None:
    name = failing["properties"][0]["name"]
    ran = {"candidate": "c", "properties": [], "not_run": [], "duration_seconds": 1.0}

    def report(status: str, not_run=()) -> dict:
        prop = failing["properties"][0] | {"candidate": "c", "status": status}
        return passing | ran | {"properties": [prop], "not_run": list(not_run)}

    for order in (["passed", "not covered"], ["not covered", "passed"]):
        merged = merge_reports([report(status) for status in order])
        assert [p["status"] for p in merged["properties"]] == ["passed"], order
        assert merged["passed"] is True
    merged = merge_reports([report("passed"), report("failed"), report("not covered")])
    assert [p["status"] for p in merged["properties"]] == ["failed"]
    # A property one candidate never ran stays listed, though another candidate ran it.
    other = report("passed") | {"candidate": "d"}
    other["properties"] = [other["properties"][0] | {"candidate": "d"}]
    merged = merge_reports([report("failed", not_run=["x.y"]), other | {"not_run": []}])
    assert merged["not_run"] == ["x.y (c)"], merged["not_run"]
    assert name in {p["name"] for p in merged["properties"]}


def test_a_report_holds_plain_data_not_the_result_models_enums(failing: dict) -> None:
    """A report crosses process boundaries (pytest-xdist workers): plain str, not Status/Kind."""
    statuses = [prop["status"] for prop in failing["properties"]]
    kinds = [prop["failure"]["kind"] for prop in failing["properties"] if prop["failure"]]
    assert kinds and all(type(value) is str for value in statuses + kinds)
