"""Inline SVG figures for the HTML report: no script, no external file."""

from __future__ import annotations

import math
from html import escape

# Decades of (error / tolerance) shown, from 1e-16 up to 1e+2 and beyond.
LOWEST_DECADE, HIGHEST_DECADE = -16, 2


def ratio_bins(ratios: list) -> list[tuple[str, int, bool]]:
    """(label, count, over tolerance) per bin: exact, one bin per decade, then infinite."""
    exact = sum(1 for r in ratios if _value(r) == 0)
    infinite = sum(1 for r in ratios if math.isinf(_value(r)))
    decades = dict.fromkeys(range(LOWEST_DECADE, HIGHEST_DECADE + 1), 0)
    for ratio in map(_value, ratios):
        if ratio > 0 and math.isfinite(ratio):
            decade = min(max(math.floor(math.log10(ratio)), LOWEST_DECADE), HIGHEST_DECADE)
            decades[decade] += 1
    bins = [("exact", exact, False)]
    bins += [(f"1e{d}", count, d >= 0) for d, count in decades.items()]
    bins.append(("inf", infinite, True))
    return bins


def _value(ratio) -> float:
    """Ratios come from JSON, where non-finite numbers are the strings 'inf' and 'nan'."""
    return float(ratio)


def error_histogram(ratios: list, *, width: int = 560, height: int = 150) -> str:
    """Histogram of error / tolerance per example, on a log scale, with the tolerance marked."""
    bins = ratio_bins(ratios)
    peak = max((count for _, count, _ in bins), default=0) or 1
    left, bottom, top = 34, 28, 12
    bar_width = (width - left - 8) / len(bins)
    plot_height = height - bottom - top
    parts = [
        f'<svg class="histogram" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(_title(ratios))}</title>",
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" y2="{top + plot_height}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 8}" class="tick" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_height}" class="tick" text-anchor="end">0</text>',
    ]
    for index, (label, count, over) in enumerate(bins):
        x = left + index * bar_width
        bar = plot_height * count / peak
        css = "bar over" if over and count else "bar"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_height - bar:.1f}" width="{bar_width - 2:.1f}" '
            f'height="{bar:.1f}" class="{css}"><title>{escape(label)}: {count} examples</title></rect>'
        )
        if label in ("exact", "inf") or (
            label.startswith("1e") and int(label[2:]) % 4 == 0 and int(label[2:]) > LOWEST_DECADE
        ):
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{height - 12}" class="tick" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    tolerance_x = left + (1 + (0 - LOWEST_DECADE)) * bar_width
    parts += [
        f'<line x1="{tolerance_x:.1f}" y1="{top - 4}" x2="{tolerance_x:.1f}" y2="{top + plot_height}" class="tolerance"/>',
        f'<text x="{tolerance_x + 3:.1f}" y="{top + 4}" class="tick tolerance-label">tolerance</text>',
        f'<text x="{(left + width) / 2:.0f}" y="{height - 1}" class="tick" text-anchor="middle">'
        "worst error of each example / its tolerance</text>",
        "</svg>",
    ]
    return "\n".join(parts)


def _title(ratios: list) -> str:
    if not ratios:
        return "no numeric comparisons recorded"
    return f"error / tolerance for {len(ratios)} examples; left of the line passes"
