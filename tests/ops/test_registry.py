"""The op registry and the layout it stands for: every op is one folder, and everything that
lists ops, functions or properties reads the registry."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cnnref
import cnnref.checks
from cnnref import ops, reference
from cnnref.checks import PROPERTIES, claim
from cnnref.cli import build_parser
from cnnref.report import report_schema
from cnnref.verify import select_properties

ROOT = Path(__file__).resolve().parents[2]
OPS_DIR = ROOT / "cnnref" / "ops"
FOLDER = ("geometry.py", "literal.py", "fast.py", "cases.py", "properties.py", "hints.py")
# What a literal form may not import: any fast form or the fast forms' machinery.
FAST_MODULES = ("fast", "im2col", "blocks", "masking")


def test_the_registry_lists_exactly_the_op_folders() -> None:
    folders = {path.parent.name for path in OPS_DIR.glob("*/__init__.py")}
    assert folders == set(ops.OPS), f"folders {sorted(folders)} != OPS {sorted(ops.OPS)}"


@pytest.mark.parametrize("op", ops.OPS)
def test_each_op_folder_holds_the_whole_op(op: str) -> None:
    missing = [name for name in FOLDER if not (OPS_DIR / op / name).exists()]
    assert not missing, f"cnnref/ops/{op}/ lacks {missing}"
    assert (OPS_DIR / op / "derivation.html").exists(), f"cnnref/ops/{op}/ lacks derivation.html"
    functions = (op, f"{op}_backward")
    for function in functions:
        assert getattr(cnnref, function) is getattr(reference.fast, function)
        assert callable(getattr(reference.literal, function))
    registered = {prop.function for prop in PROPERTIES if prop.function in functions}
    assert registered == set(functions), f"{op}: properties only for {sorted(registered)}"


def _imported_modules(path: Path) -> set[str]:
    """The last component of every module ``path`` imports from (``from ..conv2d.fast`` -> fast)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.update((node.module or "").split("."))
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(part for alias in node.names for part in alias.name.split("."))
    return names


@pytest.mark.parametrize("op", ops.OPS)
def test_the_literal_form_shares_no_code_with_any_fast_form(op: str) -> None:
    literal_imports = _imported_modules(OPS_DIR / op / "literal.py")
    assert not literal_imports & set(FAST_MODULES), (
        f"cnnref/ops/{op}/literal.py imports {sorted(literal_imports & set(FAST_MODULES))}"
    )
    fast_imports = _imported_modules(OPS_DIR / op / "fast.py")
    assert "literal" not in fast_imports, f"cnnref/ops/{op}/fast.py imports a literal form"
    # Nor does it borrow the geometry's helpers beyond the argument checks and output shape.
    helpers = _geometry_methods(OPS_DIR / op / "geometry.py") - {"from_args", "output_shape"}
    used = {
        node.attr
        for node in ast.walk(ast.parse((OPS_DIR / op / "literal.py").read_text()))
        if isinstance(node, ast.Attribute)
    }
    assert not used & helpers, (
        f"cnnref/ops/{op}/literal.py uses geometry's {sorted(used & helpers)}"
    )


def _geometry_methods(path: Path) -> set[str]:
    return {
        item.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    }


def test_property_names_are_unique_and_each_has_a_group_of_the_registry() -> None:
    names = [prop.name for prop in PROPERTIES]
    assert len(names) == len(set(names)), names
    for group, functions in ops.GROUPS.items():
        chosen = select_properties([group])
        assert {prop.function for prop in chosen} == set(functions), group


def test_claim_refuses_a_name_that_is_not_function_dot_claim_or_is_taken() -> None:
    with pytest.raises(ValueError, match=r"function\.claim"):
        claim("no_dot", summary="", formula="", cases=lambda *a, **k: None)
    with pytest.raises(ValueError, match="unique"):
        claim(PROPERTIES[0].name, summary="", formula="", cases=lambda *a, **k: None)


def test_the_cli_choices_and_the_report_schema_come_from_the_registry() -> None:
    verify_parser = build_parser()._subparsers._group_actions[0].choices["verify"]
    op_choices = next(a for a in verify_parser._actions if a.dest == "ops").choices
    assert set(op_choices) == set(ops.FUNCTIONS) | set(ops.GROUPS)
    schema = report_schema()["$defs"]
    assert schema["op"]["enum"] == list(ops.OPS)
    assert schema["function"]["enum"] == list(ops.FUNCTIONS)


def test_reading_a_report_does_not_load_the_verifier() -> None:
    """cnnref.report reads the result model (cnnref.results), never the runner."""
    code = (
        "import sys, cnnref.report, cnnref.results; "
        "print(sorted(m for m in sys.modules if m.startswith("
        "('hypothesis', 'cnnref.verify', 'cnnref.sandbox', 'cnnref.checks',"
        " 'cnnref.properties'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]", loaded


def test_the_shipped_schema_spells_the_statuses_and_kinds_of_the_result_model() -> None:
    shipped = json.loads((ROOT / "cnnref" / "report" / "schema.json").read_text())["$defs"]
    filled = report_schema()["$defs"]
    assert shipped["status"]["enum"] == filled["status"]["enum"]
    kinds = "property", "properties", "failure", "properties", "kind"
    assert _get(shipped, kinds) == _get(filled, kinds)


def _get(tree: dict, path: tuple[str, ...]):
    for key in path:
        tree = tree[key]
    return tree


def test_former_names_still_import_as_the_same_objects() -> None:
    from cnnref.strategies import MaxPoolCase, PoolCase, max_pool_cases, pool_cases

    former = importlib.import_module("cnnref.properties")
    assert importlib.import_module("cnnref.properties.compare") is cnnref.checks.compare
    assert former.PROPERTIES == PROPERTIES and former.standard is cnnref.checks.standard
    assert (PoolCase, pool_cases) == (MaxPoolCase, max_pool_cases)
    assert select_properties(["pool"]) == select_properties(["max_pool"])
    assert "pool" not in ops.OPS.values()  # max_pool and avg_pool are both pools
