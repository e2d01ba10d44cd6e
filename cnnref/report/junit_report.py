"""JUnit XML: every property a test case, so CI systems list and count them."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from ..atomic import write_atomic
from ..declarations import conventions_summary
from ..results import Status


def render_junit(report: dict) -> str:
    properties = report["properties"]
    failures = sum(p["status"] == Status.FAILED for p in properties)
    errors = sum(p["status"] == Status.ERROR for p in properties)
    skipped = sum(p["status"] == Status.NOT_COVERED for p in properties)
    suite = ET.Element(
        "testsuite",
        name=f"cnnref verify {report['candidate']}",
        tests=str(len(properties)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{report['duration_seconds']:.3f}",
        timestamp=report["created"],
    )
    conventions = conventions_summary((p["function"], p.get("conventions")) for p in properties)
    if conventions:
        listed = ET.SubElement(suite, "properties")
        ET.SubElement(listed, "property", name="conventions", value=conventions)
    for prop in properties:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=prop["candidate"],
            name=prop["name"],
            time=f"{prop['seconds']:.3f}",
        )
        failure = prop["failure"]
        if prop["status"] in (Status.FAILED, Status.ERROR):
            first_line = failure["explanation"].splitlines()[0] if failure else prop["status"]
            element = ET.SubElement(
                case, "failure" if prop["status"] == Status.FAILED else "error", message=first_line
            )
            element.text = _failure_text(prop)
        elif prop["status"] == Status.NOT_COVERED:
            ET.SubElement(case, "skipped", message="; ".join(prop["not_covered"]))
        out = f"{prop['examples']} examples; {prop['summary']}"
        if prop.get("conventions"):
            checked = ", ".join(f"{name}={value}" for name, value in prop["conventions"].items())
            out += f"\nchecked under the conventions {checked}"
        ET.SubElement(case, "system-out").text = out
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _failure_text(prop: dict) -> str:
    failure = prop["failure"]
    if failure is None:
        return prop["status"]
    parts = [failure["explanation"], "", "smallest failing example:", failure["example"]]
    if failure["hints"]:
        parts += ["", "likely cause:", *[f"- {hint}" for hint in failure["hints"]]]
    parts += ["", "reproduce:", failure["reproduce"]["command"], failure["reproduce"]["python"]]
    return "\n".join(parts)


def write_junit(report: dict, path: str | os.PathLike) -> None:
    write_atomic(path, render_junit(report))
