"""The HTML report: one self-contained page (inline CSS and SVG, no script, no external URL)."""

from __future__ import annotations

import math
import os
import re
from collections import Counter

import jinja2
from markupsafe import Markup

from ..atomic import write_atomic
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
    return template.render(
        report=report | {"properties": properties}, multiple_candidates=len(candidates) > 1
    )


def _anchors(report: dict) -> list[str]:
    """An HTML id per property, unique even when a merged report checked one property twice."""
    anchors, seen = [], Counter()
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
