"""The HTML report reads honestly: what was checked and what was not, the numbers the text
uses, settings in a person's units, bars on a scale that says what it is."""

from __future__ import annotations

import re

import pytest

from cnnref.report import report_dict
from cnnref.report.html_report import number, render_html, setting_rows, worst_cell
from cnnref.verify import verify


@pytest.fixture(scope="module")
def report() -> dict:
    """conv2d_backward with a wrong dL/dW, checked with max_pool2d's properties, which it lacks."""
    result = verify(
        "tests.candidates.scaled_dw", ops=["max_pool2d", "conv2d_backward"], examples=5, seed=0
    )
    return report_dict(result)


def test_the_banner_counts_checked_and_not_covered_apart(report: dict) -> None:
    html = render_html(report)
    total = len(report["properties"])
    lacking = [p for p in report["properties"] if p["function"] == "max_pool2d"]
    assert lacking and all(p["status"] == "not covered" for p in lacking)
    checked = total - len(lacking)
    assert re.search(rf"{checked} of {total} properties checked:", html), html[:2000]
    assert f"{len(lacking)} not covered" in html


def test_the_intro_names_only_the_functions_it_checked(report: dict) -> None:
    html = render_html(report)
    intro = re.search(r"cnnref checked (.*?) of <code>", html, re.S).group(1).strip()
    assert intro == "<code>conv2d_backward</code>", intro


def test_not_covered_properties_are_one_compact_list_not_cards(report: dict) -> None:
    html = render_html(report)
    assert 'class="card not-covered"' not in html
    (listing,) = re.findall(r'<ul class="not-covered">(.*?)</ul>', html, re.S)
    for prop in report["properties"]:
        if prop["status"] == "not covered":
            assert f">{prop['name']}</code>" in listing
    assert "tests.candidates.scaled_dw does not expose max_pool2d" in listing


def test_a_failure_cards_tolerance_is_the_one_its_text_states(report: dict) -> None:
    html = render_html(report)
    failure = next(p["failure"] for p in report["properties"] if p["failure"])
    allowed = number(failure["worst"]["allowed"])
    assert f"times its tolerance {allowed}" in failure["explanation"]
    card = html[html.index('id="failure-') :]
    row = re.search(r"<td class=\"num\">[^<]*</td>\s*</tr>", card).group(0)
    assert f">{allowed}<" in row, row


def test_settings_read_in_a_persons_units() -> None:
    settings = {
        "examples": 100,
        "seed": None,
        "mode": "random, with the example database",
        "dtype": None,
        "timeout": 10.0,
        "isolated": True,
        "unsupported": [],
        "memory": 8 << 30,
        "cpu_seconds": None,
        "forbid": [],
        "fences": ["no network"],
    }
    rows = dict(setting_rows(settings))
    assert rows["memory"] == "8 GiB" and rows["seed"] == "random"
    assert rows["cpu_seconds"] == "no limit" and rows["forbid"] == "none"
    assert rows["timeout"] == "10 s per call"
    derandomized = dict(setting_rows(settings | {"mode": "derandomized (CI)"}))
    assert derandomized["seed"] == "none"
    assert dict(setting_rows(settings | {"seed": 7, "memory": 512 << 20}))["memory"] == "512 MiB"


@pytest.mark.parametrize(("ratio", "width"), [(0.00068, "0.1%"), (0.5, "50.0%"), (3.0, "100.0%")])
def test_the_bar_is_linear_and_full_at_the_tolerance(ratio: float, width: str) -> None:
    worst = {"ratio": ratio}
    cell = str(worst_cell({"worst": worst, "failure": None}))
    assert f"width: {width}" in cell, cell
    assert ("over" in cell) == (ratio > 1)


def test_the_table_says_what_the_bar_shows(report: dict) -> None:
    assert "bar: linear, full at the tolerance" in render_html(report)


def test_an_interrupted_report_says_so(report: dict) -> None:
    interrupted = report | {
        "interrupted": ["max_pool2d.contract"],
        "not_run": ["max_pool2d.contract"],
    }
    html = render_html(interrupted)
    assert "INTERRUPTED" in html and "1 not run (interrupted)" in html


def test_cards_are_for_judged_properties_and_failures_only(report: dict) -> None:
    cards = render_html(report).count('<section class="card')
    judged = sum(p["status"] != "not covered" for p in report["properties"])
    failures = sum(p["failure"] is not None for p in report["properties"])
    assert cards == judged + failures
