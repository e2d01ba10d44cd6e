"""Verification reports: JSON for machines, one self-contained HTML page for people, JUnit XML for CI.

All three render from the same JSON document (``report_dict``), so a report
merged from several runs (pytest-xdist workers) renders like any other.
"""

from __future__ import annotations

import os
from pathlib import Path

from .json_report import (
    SCHEMA_VERSION,
    merge_reports,
    report_dict,
    report_schema,
    write_json_dict,
)


def write_report(report: dict, path: str | os.PathLike) -> None:
    """Write ``report`` to ``path`` in the format its suffix names: .json, .html or .xml (JUnit)."""
    suffix = Path(path).suffix
    if suffix == ".json":
        write_json_dict(report, path)
    elif suffix == ".html":
        from .html_report import write_html

        write_html(report, path)
    elif suffix == ".xml":
        from .junit_report import write_junit

        write_junit(report, path)
    else:
        raise ValueError(f"report path {path}: the suffix must be .json, .html or .xml")


__all__ = ["SCHEMA_VERSION", "merge_reports", "report_dict", "report_schema", "write_report"]
