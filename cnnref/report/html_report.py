"""The HTML report: one self-contained page (inline CSS and SVG, no script, no external URL)."""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from importlib import resources

import jinja2
from markupsafe import Markup

from ..atomic import write_atomic
from ..declarations import conventions_summary
from ..ops import OPS
from .figures import error_histogram


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cnnref.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        histogram=lambda ratios: Markup(error_histogram(ratios)),
        worst_cell=worst_cell,
        number=number,
    )
    return env


def render_html(report: dict) -> str:
    candidates = {prop["candidate"] for prop in report["properties"]}
    properties = [
        prop | {"anchor": anchor} for prop, anchor in zip(report["properties"], _anchors(report))
    ]
    template = environment().get_template("verification.html.j2")
    conventions = conventions_summary(
        (prop["function"], prop.get("conventions")) for prop in report["properties"]
    )
    judged = [prop for prop in properties if prop["status"] != "not covered"]
    return template.render(
        report=report | {"properties": properties},
        judged=judged,
        not_covered=[prop for prop in properties if prop["status"] == "not covered"],
        # The functions some property judged: not those the candidate lacks.
        checked_functions=list(dict.fromkeys(prop["function"] for prop in judged)),
        settings=setting_rows(report["settings"]),
        multiple_candidates=len(candidates) > 1,
        conventions=conventions,
        declared=_declared_rows(report["settings"].get("declared") or {}),
        derivations=_derivations(report["properties"]),
    )


def _derivations(properties: list[dict]) -> list[Markup]:
    """The derivation of each op the report checked, in the registry's order, from its folder."""
    checked = {prop["op"] for prop in properties}
    return [
        Markup(resources.files(f"cnnref.ops.{op}").joinpath("derivation.html").read_text())
        for op in OPS
        if op in checked
    ]


def setting_rows(settings: dict) -> list[tuple[str, str]]:
    """The run's settings as a person reads them: sizes in GiB, 'random' for no seed."""
    shown = {
        "examples": f"{settings['examples']} per property",
        "seed": str(settings["seed"])
        if settings.get("seed") is not None
        else "random"
        if str(settings.get("mode", "random")).startswith("random")
        else "none",
        "mode": settings.get("mode"),
        "dtype": settings.get("dtype") or "float64 and float32, drawn per example",
        "timeout": f"{settings['timeout']:g} s per call",
        "isolated": "yes, in a process of its own"
        if settings.get("isolated")
        else "no, in the verifier's process",
        "memory": _size(settings["memory"]) if "memory" in settings else None,
        "cpu_seconds": None
        if "cpu_seconds" not in settings
        else "no limit"
        if settings["cpu_seconds"] is None
        else f"{settings['cpu_seconds']} s",
    }
    rows = [(key, text) for key, text in shown.items() if text is not None]
    for key in ("unsupported", "forbid", "fences"):
        if key in settings:
            rows.append((key, "; ".join(settings[key]) or "none"))
    return rows


def _size(size: int | None) -> str:
    if size is None:
        return "no limit"
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.3g} {unit}"
    return f"{size} bytes"


def _declared_rows(declared: dict) -> list[tuple[str, str]]:
    """One (function, text) row per function with a declaration that is not the default."""
    rows = []
    for function, entry in declared.items():
        parts = []
        if entry.get("unsupported"):
            parts.append("unsupported: " + ", ".join(entry["unsupported"]))
        conventions = entry.get("conventions") or {}
        parts += [f"{name}={value}" for name, value in conventions.items()]
        if parts:
            rows.append((function, "; ".join(parts)))
    return rows


def _anchors(report: dict) -> list[str]:
    """An HTML id per property, unique even when a merged report checked one property twice."""
    anchors: list[str] = []
    seen: Counter[str] = Counter()
    for prop in report["properties"]:
        anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{prop['candidate']}-{prop['name']}")
        seen[anchor] += 1
        anchors.append(anchor if seen[anchor] == 1 else f"{anchor}--{seen[anchor]}")
    return anchors


def write_html(report: dict, path: str | os.PathLike) -> None:
    write_atomic(path, render_html(report))


def number(value) -> str:
    value = float(value)
    if math.isinf(value):
        return "∞"
    return f"{value:.3g}"


def worst_cell(prop: dict) -> Markup:
    """Worst error / tolerance as a number and a bar on a linear scale, full at the tolerance.

    A failed property shows the failing example's ratio, or what went wrong: never the
    ratio of the examples that passed, which would read as a pass.
    """
    worst = prop["worst"]
    if prop["failure"] is not None:
        worst = prop["failure"]["worst"]
        if worst is None or not float(worst["ratio"]) > 1:
            return Markup('<span class="status failed">{}</span>').format(prop["failure"]["kind"])
    if worst is None:
        return Markup('<span class="muted">no numeric comparison</span>')
    ratio = float(worst["ratio"])
    label = "exact" if ratio == 0 else "∞" if math.isinf(ratio) else f"{ratio:.2g}"
    css = "over" if ratio > 1 else ""
    return Markup(
        '<span class="mono ratio-label">{}</span><span class="meter" title="{}">'
        '<span class="{}" style="width: {:.1f}%"></span></span>'
    ).format(label, f"{label} of the tolerance", css, min(ratio, 1.0) * 100)
