"""Rewrite every file derived from the op registry (``OPS`` in ``cnnref/ops/__init__.py``).

Adding or removing an op is its folder and its line in ``OPS``; then run::

    python scripts/derived.py            # the typed names and the committed report
    python scripts/derived.py --typed    # the typed names only (instant)

What it writes:

* the typed names: ``cnnref``, ``cnnref.reference`` and ``cnnref.strategies`` bind each op's
  functions and cases from the registry when first used, so that the candidate's lean process
  imports none of them.  Type checkers and editors read imports, not a dict, so each of those
  modules also names them in an ``if TYPE_CHECKING:`` block, which this writes from the
  registry.  ``tests/test_typing_facades.py`` fails while a block differs from what it writes.
* the committed report of the reference, ``reports/verification.{json,html}``
  (``cnnref verify --seed 0``, a few minutes); ``tests/report/test_report.py`` checks it.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The comment that marks a generated block: it is what this script finds and replaces.
MARK = "# written by scripts/derived.py from the registry"


def _name_order(name: str) -> tuple[int, str]:
    """ruff's isort order inside one import: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def _import(module: str, names: list[str]) -> str:
    names = sorted(names, key=_name_order)
    line = f"    from {module} import {', '.join(names)}"
    if len(line) <= 100:
        return line
    return "\n".join([f"    from {module} import (", *(f"        {n}," for n in names), "    )"])


def typed_blocks() -> dict[str, str]:
    """Each facade's path -> its generated ``if TYPE_CHECKING:`` block, from the registry."""
    from cnnref.ops import FUNCTIONS, OPS

    functions = _import(".reference", list(FUNCTIONS))
    fast = [_import(f"..ops.{op}.fast", [op, f"{op}_backward"]) for op in sorted(OPS)]
    cases = [
        _import(
            f"..ops.{op}.cases", list(importlib.import_module(f"cnnref.ops.{op}.cases").__all__)
        )
        for op in sorted(OPS)
    ]
    return {
        "cnnref/__init__.py": f"if TYPE_CHECKING:  {MARK}\n{functions}\n",
        "cnnref/reference/__init__.py": f"if TYPE_CHECKING:  {MARK}\n" + "\n".join(fast) + "\n",
        "cnnref/strategies/__init__.py": f"if TYPE_CHECKING:  {MARK}\n" + "\n".join(cases) + "\n",
    }


def generated_block_lines(source: str) -> tuple[int, int]:
    """The first and last line (0-based, inclusive) of ``source``'s generated block."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            first = node.lineno - 1
            if MARK in source.splitlines()[first]:
                assert node.end_lineno is not None
                return first, node.end_lineno - 1
    raise LookupError(f"no `if TYPE_CHECKING:  {MARK}` block")


def with_block(source: str, block: str) -> str:
    """``source`` with its generated block replaced by ``block``."""
    first, last = generated_block_lines(source)
    lines = source.splitlines(keepends=True)
    return "".join([*lines[:first], block, *lines[last + 1 :]])


def write_typed_names(root: Path = ROOT) -> list[str]:
    """Rewrite the facades' typed names under ``root``; the paths it changed."""
    changed = []
    for path, block in typed_blocks().items():
        file = root / path
        source = file.read_text()
        updated = with_block(source, block)
        if updated != source:
            file.write_text(updated)
            changed.append(path)
    return changed


def write_report(root: Path = ROOT) -> None:
    """``cnnref verify --seed 0`` of the reference, into ``reports/``."""
    json, html = root / "reports" / "verification.json", root / "reports" / "verification.html"
    verify = [sys.executable, "-m", "cnnref", "verify", "--seed", "0"]
    subprocess.run([*verify, "--json", str(json), "--report", str(html)], check=True, cwd=root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typed", action="store_true", help="rewrite the typed names only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's cnnref, whichever is installed
    for path in write_typed_names():
        print(f"rewrote {path}")
    if not args.typed:
        write_report()
        print("rewrote reports/verification.json and reports/verification.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
