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
    return template.render(
        report=report | {"properties": properties},
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
    """Worst error / tolerance as a number and a small bar on a log scale (1e-16 .. 1e2).

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
    if ratio == 0:
        fraction, label = 0.0, "exact"
    elif math.isinf(ratio):
        fraction, label = 1.0, "∞"
    else:
        fraction = min(max((math.log10(ratio) + 16) / 18, 0.0), 1.0)
        label = f"{ratio:.2g}"
    css = "over" if ratio > 1 else ""
    return Markup(
        f'<span class="mono ratio-label">{label}</span><span class="meter" title="log scale, tolerance at 89%">'
        f'<span class="{css}" style="width: {fraction * 100:.0f}%"></span></span>'
    )
