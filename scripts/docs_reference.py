"""The documentation's generated reference pages, filled in from the code at build time.

MkDocs runs this as a hook (mkdocs.yml, ``hooks:``): a page holding a marker such as
``<!-- generated: cli -->`` gets, in its place, what the marker names, built from argparse
(``cnnref.cli.build_parser``) and the registry (``cnnref.properties``, ``cnnref.declarations``).
So the reference cannot drift from the code: there is no hand-kept copy to update.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable

MARKER = re.compile(r"<!-- generated: (\w+) -->")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def cli() -> str:
    """``cnnref --help`` and every sub-command's ``--help``, as argparse prints them."""
    from cnnref.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; the page has its own width
    parser = build_parser()
    sections = [f"## `cnnref`\n\n```text\n{parser.format_help()}```\n"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sections.append(f"## `cnnref {name}`\n\n```text\n{sub.format_help()}```\n")
    return "\n".join(sections)


def properties() -> str:
    """Every registered property: its name, the function it checks, its claim."""
    from cnnref.properties import all_properties

    rows = ["| property | claim | needs torch |", "|---|---|---|"]
    rows += [
        f"| `{p.name}` | {_cell(p.summary)} | {'yes' if p.needs_torch else ''} |"
        for p in all_properties()
    ]
    return (
        f"{len(rows) - 2} properties, each its own Hypothesis search and verdict.\n\n"
        + "\n".join(rows)
    )


def features() -> str:
    """Every feature a candidate may declare unsupported, with the functions that have it."""
    from cnnref.declarations import ALIASES, FEATURES, functions_with

    rows = ["| feature | what declaring it unsupported turns off | functions |", "|---|---|---|"]
    rows += [
        f"| `{name}` | {_cell(meaning)} | {', '.join(functions_with(name))} |"
        for name, meaning in sorted(FEATURES.items())
    ]
    rows += [
        f"| `{name}` (alias) | {', '.join(f'`{f}`' for f in features)} | |"
        for name, features in sorted(ALIASES.items())
    ]
    return "\n".join(rows)


def conventions() -> str:
    """Every pooling convention: its values (PyTorch's first), what each means, where it applies."""
    from cnnref.declarations import CONVENTION_FUNCTIONS, CONVENTIONS

    rows = ["| convention | value | meaning | functions |", "|---|---|---|---|"]
    for name, values in CONVENTIONS.items():
        for i, (value, meaning) in enumerate(values.items()):
            default = " (PyTorch's, the default)" if i == 0 else ""
            rows.append(
                f"| `{name}` | `{value}`{default} | {_cell(meaning)} | "
                f"{', '.join(CONVENTION_FUNCTIONS[name])} |"
            )
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli,
    "properties": properties,
    "features": features,
    "conventions": conventions,
}


def render(markdown: str) -> str:
    """``markdown`` with each marker replaced by what it names (a KeyError names an unknown one)."""
    return MARKER.sub(lambda match: GENERATORS[match.group(1)](), markdown)


def on_page_markdown(markdown: str, **_: object) -> str:  # the MkDocs hook
    return render(markdown)
