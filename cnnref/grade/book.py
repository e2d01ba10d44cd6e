"""The gradebook: scores from the reports, as CSV, Gradescope's results.json and a class page.

A property is worth the points a weights file gives it, by its name or its
function's (``{"conv2d.matches_reference": 2, "max_pool2d": 1}``); without a
weights file every property is worth 1.  A submission earns a property's points
when the property passed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

from ..atomic import write_atomic
from . import Graded

CSV_COLUMNS = (
    "submission",
    "status",
    "score",
    "max_score",
    "passed",
    "failed",
    "not_covered",
    "seconds",
    "message",
    "report",
)
FEEDBACK_LIMIT = 4000  # characters of a failure's explanation Gradescope shows


def read_weights(path: str | os.PathLike) -> dict[str, float]:
    """A weights file: a JSON object, property or function name -> points (a number >= 0)."""
    from ..checks import FUNCTIONS, PROPERTIES

    try:
        weights = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"weights file {path}: {error}") from None
    if not isinstance(weights, dict):
        raise ValueError(f"weights file {path}: expected a JSON object of name -> points")
    known = {prop.name for prop in PROPERTIES} | set(FUNCTIONS)
    for name, points in weights.items():
        if name not in known:
            raise ValueError(f"weights file {path}: {name!r} is no property or function")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ValueError(f"weights file {path}: {name!r} must be a number >= 0; got {points!r}")
    return weights


def points(prop: dict, weights: dict[str, float] | None) -> float:
    if weights is None:
        return 1.0
    return float(weights.get(prop["name"], weights.get(prop["function"], 0.0)))


def score(
    graded: Graded, weights: dict[str, float] | None, names: list[dict]
) -> tuple[float, float]:
    """(earned, possible) over ``names``, every property any submission was checked on."""
    status = {prop["name"]: prop["status"] for prop in graded.report.get("properties", ())}
    possible = sum(points(prop, weights) for prop in names)
    earned = sum(points(prop, weights) for prop in names if status.get(prop["name"]) == "passed")
    return float(earned), float(possible)


def class_properties(book: list[Graded]) -> list[dict]:
    """Each property any submission's report names (name and function), in first-seen order."""
    seen: dict[str, dict] = {}
    for graded in book:
        for prop in graded.report.get("properties", ()):
            seen.setdefault(prop["name"], {"name": prop["name"], "function": prop["function"]})
    if not seen:  # nobody loaded: every property the run would have checked
        from ..checks import PROPERTIES

        seen = {p.name: {"name": p.name, "function": p.function} for p in PROPERTIES}
    return list(seen.values())


def write_gradebook(book: list[Graded], out: Path, weights: dict[str, float] | None) -> dict:
    """gradebook.csv, each submission's results.json, and index.html; the class summary."""
    names = class_properties(book)
    rows = []
    for graded in book:
        earned, possible = score(graded, weights, names)
        counts = Counter(prop["status"] for prop in graded.report.get("properties", ()))
        rows.append(
            {
                "submission": graded.name,
                "status": graded.status,
                "score": round(earned, 3),
                "max_score": round(possible, 3),
                "passed": counts["passed"],
                "failed": counts["failed"] + counts["error"],
                "not_covered": counts["not covered"],
                "seconds": round(graded.seconds, 1),
                "message": graded.message,
                "report": os.path.relpath(Path(graded.folder) / "report.html", out),
            }
        )
        write_atomic(
            Path(graded.folder) / "results.json",
            json.dumps(gradescope(graded, weights, names), indent=1),
        )
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / "gradebook.csv", text.getvalue())
    summary = class_summary(book, rows)
    write_atomic(out / "index.html", class_page(summary))
    return summary


def gradescope(graded: Graded, weights: dict[str, float] | None, names: list[dict]) -> dict:
    """Gradescope's autograder results.json: the score, and one test per property."""
    found = {prop["name"]: prop for prop in graded.report.get("properties", ())}
    tests = []
    for number, wanted in enumerate(names, 1):
        prop = found.get(wanted["name"])
        worth = points(wanted, weights)
        passed = prop is not None and prop["status"] == "passed"
        tests.append(
            {
                "name": wanted["name"],
                "number": str(number),
                "score": worth if passed else 0.0,
                "max_score": worth,
                "status": "passed" if passed else "failed",
                "output": _feedback(prop, graded),
            }
        )
    earned = float(sum(test["score"] for test in tests))
    output = f"cnnref: {graded.status}"
    if graded.message:
        output += f": {graded.message}"
    return {
        "score": earned,
        "execution_time": round(graded.seconds),
        "output": output,
        "tests": tests,
    }


def _feedback(prop: dict | None, graded: Graded) -> str:
    if prop is None:
        return graded.message or "not checked"
    if prop.get("failure"):
        failure = prop["failure"]
        text = failure["explanation"] + "".join(f"\nhint: {hint}" for hint in failure["hints"])
        return text[:FEEDBACK_LIMIT]
    if prop["status"] == "not covered":
        return "not covered: " + "; ".join(prop.get("not_covered", []))
    return ""


def class_summary(book: list[Graded], rows: list[dict]) -> dict:
    """What the class page shows: the rows, the most failed properties, the hints that
    fired, and the slowest submissions."""
    failed: Counter[str] = Counter()
    hints: Counter[str] = Counter()
    for graded in book:
        for prop in graded.report.get("properties", ()):
            if prop["status"] in ("failed", "error"):
                failed[prop["name"]] += 1
                for hint in (prop.get("failure") or {}).get("hints", ()):
                    hints[hint.split(". ")[0][:160]] += 1
    slowest = sorted(rows, key=lambda row: row["seconds"], reverse=True)[:5]
    statuses = Counter(row["status"] for row in rows)
    return {
        "rows": rows,
        "most_failed": failed.most_common(10),
        "hints": hints.most_common(10),
        "slowest": slowest,
        "statuses": dict(statuses),
    }


def class_page(summary: dict) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("cnnref.grade", "templates"), autoescape=select_autoescape()
    )
    return environment.get_template("class.html.j2").render(summary=summary)
