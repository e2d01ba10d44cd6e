"""The JSON report: a stable, documented schema (docs/report-schema.md, cnnref/report/schema.json).

Non-finite numbers (an infinite error ratio, a NaN expected value) are
written as the strings "inf", "-inf" and "nan", since JSON has no such numbers.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from collections.abc import Mapping
from importlib import resources

from .. import __version__
from ..atomic import write_atomic
from ..ops import FUNCTIONS, OPS, op_of
from ..results import Kind, Status, VerificationResult

SCHEMA_VERSION = 1
PASSING = (Status.PASSED, Status.NOT_COVERED)  # the statuses of a property that did not fail
NO_FAILURE = (Kind.PASSED, Kind.NOT_CHECKED)  # outcome kinds that never end a property


def report_schema() -> dict:
    """The JSON Schema of a report, its enumerations read from the registry and the result model.

    The shipped ``schema.json`` leaves the ops and functions open (any op may be
    added); this fills them in, and the statuses and failure kinds from ``cnnref.results``.
    """
    schema = json.loads(resources.files(__package__).joinpath("schema.json").read_text())
    names = "|".join(FUNCTIONS)
    schema["$defs"]["op"] = {"enum": list(OPS)}
    schema["$defs"]["function"] = {"enum": list(FUNCTIONS)}
    schema["$defs"]["property_name"] = {"type": "string", "pattern": f"^({names})\\.[a-z_]+$"}
    schema["$defs"]["status"] = {"enum": list(Status)}
    failure = schema["$defs"]["property"]["properties"]["failure"]
    failure["properties"]["kind"] = {"enum": [k for k in Kind if k not in NO_FAILURE]}
    return schema


def report_dict(result: VerificationResult) -> dict:
    """The report as plain JSON-ready data."""
    properties = [_property(p, result.candidate) for p in result.properties]
    return _finite(
        {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "cnnref", "version": __version__},
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "candidate": result.candidate,
            "passed": result.passed,
            "duration_seconds": round(result.seconds, 3),
            "settings": result.settings,
            "environment": result.environment,
            "summary": _count_statuses(properties),
            "properties": properties,
            "not_run": result.not_run,
            "interrupted": result.interrupted,
        }
    )


def merge_reports(reports: list[dict]) -> dict:
    """One report from several runs of one session (plugin items, verify calls, xdist workers).

    A property checked again on the same candidate with the same settings counts once: a
    failure wins over a pass (a random seed may find a bug only once), a pass over "not
    covered".  Where the runs' settings differ, each property carries its own ``settings``.
    Properties are ordered by candidate, then function and name, whatever order runs finished.
    """
    if len(reports) == 1:
        return reports[0]
    differ = len({json.dumps(report["settings"], sort_keys=True) for report in reports}) > 1
    latest: dict[tuple, dict] = {}
    for report in reports:
        settings = json.dumps(report["settings"], sort_keys=True)
        for prop in report["properties"]:
            key = (prop["candidate"], prop["function"], prop["name"], settings)
            if key not in latest or _rank(prop) > _rank(latest[key]):
                latest[key] = prop | ({"settings": report["settings"]} if differ else {})
    candidates = list(dict.fromkeys(report["candidate"] for report in reports))
    ordered = sorted(latest, key=lambda key: (candidates.index(key[0]), *key[1:]))
    properties = [latest[key] for key in ordered]
    ran = {(prop["candidate"], prop["name"]) for prop in properties}
    skipped = {
        (report["candidate"], name) for report in reports for name in report.get("not_run", [])
    } - ran
    not_run = {
        name if len(candidates) == 1 else f"{name} ({candidate})" for candidate, name in skipped
    }
    return reports[0] | {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "candidate": ", ".join(candidates),
        "passed": all(prop["status"] in PASSING for prop in properties)
        and any(prop["status"] != Status.NOT_COVERED for prop in properties),
        "duration_seconds": round(sum(report["duration_seconds"] for report in reports), 3),
        "summary": _count_statuses(properties),
        "properties": properties,
        "not_run": sorted(not_run),
        "interrupted": sorted(
            {name for report in reports for name in report.get("interrupted", [])}
        ),
    }


def _rank(prop: dict) -> int:
    """Which of two runs of one property a merged report keeps: a failure, then a pass."""
    return {Status.NOT_COVERED: 0, Status.PASSED: 1}.get(prop["status"], 2)


def _count_statuses(properties: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for prop in properties:
        counts[prop["status"]] = counts.get(prop["status"], 0) + 1
    return counts


def _property(prop, candidate: str) -> dict:
    failure = prop.failure
    return {
        "candidate": candidate,
        "name": prop.name,
        "op": op_of(prop.function),
        "function": prop.function,
        "summary": prop.summary,
        "formula": prop.formula,
        "status": prop.status,
        "examples": prop.examples,
        "seconds": round(prop.seconds, 3),
        "time": {part: round(seconds, 3) for part, seconds in prop.time_split.items()},
        "worst": _worst(prop.worst),
        "error_ratios": prop.error_ratios,
        "coverage": {key: dict(sorted(counter.items())) for key, counter in prop.coverage.items()},
        "not_covered": prop.not_covered,
        "conventions": prop.conventions,
        "failure": None
        if failure is None
        else {
            "kind": failure.kind,
            "example": failure.case,
            "example_fields": failure.case_fields,
            "explanation": failure.message,
            "hints": failure.hints,
            "worst": _worst(failure.worst),
            "reproduce": {
                "command": failure.reproduce_command,
                "python": failure.reproduce_snippet,
            },
        },
    }


def _worst(worst) -> dict | None:
    if worst is None:
        return None
    return {
        "output": worst.name,
        "index": list(worst.index) if worst.index is not None else None,
        "expected": worst.expected,
        "actual": worst.actual,
        "abs_error": worst.abs_error,
        "rel_error": worst.rel_error,
        "tolerance": worst.rtol,
        "allowed": worst.allowed,
        "ratio": worst.ratio,
    }


def _finite(value):
    """Replace non-finite floats, tuples and enums with plain JSON-representable values."""
    if isinstance(value, str):
        return str(value)  # a Status or Kind becomes the plain string it stands for
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # NumPy scalars
        return _finite(value.item())
    return value


def write_json_dict(report: dict, path: str | os.PathLike) -> None:
    write_atomic(path, json.dumps(report, indent=2) + "\n")
