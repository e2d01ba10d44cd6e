"""The names cnnref binds at run time from its registry are also spelled out for type checkers.

``cnnref.conv2d``, ``cnnref.reference.conv2d`` and ``cnnref.strategies.ConvCase`` are found
through the registry (``cnnref.ops.OPS``) when first used, so that the candidate's lean
process imports none of them; an ``if TYPE_CHECKING:`` block in each module names them for
mypy and editors, written from the registry by ``scripts/derived.py``. These tests hold the
two lists together: a name the registry adds without its typed import, or a typed import that
is not what the registry binds, fails here; and they show that an op is its folder and its
line in ``OPS``, everything else being derived.
"""

import ast
import importlib
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnref
from cnnref.ops import FUNCTIONS, OPS

ROOT = Path(__file__).resolve().parents[1]
FACADES = ("cnnref/__init__.py", "cnnref/reference/__init__.py", "cnnref/strategies/__init__.py")


def derived_script():
    """``scripts/derived.py``, imported as a module."""
    spec = importlib.util.spec_from_file_location("derived", ROOT / "scripts" / "derived.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def typed_imports(module) -> dict[str, tuple[str, str]]:
    """name -> (the module it is imported from, its name there), inside ``if TYPE_CHECKING:``."""
    tree = ast.parse(inspect.getsource(module))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                source = importlib.util.resolve_name(
                    "." * statement.level + (statement.module or ""), module.__package__
                )
                for alias in statement.names:
                    found[alias.asname or alias.name] = (source, alias.name)
    return found


def runtime_names(module_name: str) -> set[str]:
    if module_name == "cnnref":
        return {*FUNCTIONS, *cnnref.THREAD_SETTINGS}
    if module_name == "cnnref.reference":
        return set(FUNCTIONS)
    return {
        name for op in OPS for name in importlib.import_module(f"cnnref.ops.{op}.cases").__all__
    }


@pytest.mark.parametrize("module_name", ["cnnref", "cnnref.reference", "cnnref.strategies"])
def test_typed_imports_name_what_the_registry_binds(module_name):
    module = importlib.import_module(module_name)
    typed = typed_imports(module)
    assert set(typed) == runtime_names(module_name)
    for name, (source, original) in typed.items():
        # The reference's functions take the half formats through a float32 wrapper.
        bound = inspect.unwrap(getattr(module, name))
        assert bound is inspect.unwrap(getattr(importlib.import_module(source), original)), name


def test_properties_is_typed_as_the_registry_it_returns():
    import cnnref.checks as properties

    source = inspect.getsource(properties)
    assert "PROPERTIES: tuple[Property, ...]" in source
    assert properties.all_properties() == properties.PROPERTIES


def test_the_typed_names_are_what_scripts_derived_writes_from_the_registry():
    derived = derived_script()
    blocks = derived.typed_blocks()
    assert set(blocks) == set(FACADES)
    stale = [
        path
        for path, block in blocks.items()
        if derived.with_block(source := (ROOT / path).read_text(), block) != source
    ]
    assert not stale, f"{stale} differ from the registry: run `python scripts/derived.py --typed`"


def test_the_typed_names_block_is_found_by_its_mark_and_only_it_is_replaced():
    derived = derived_script()
    source = (
        "if TYPE_CHECKING:\n    from .a import b\n"
        f"if TYPE_CHECKING:  {derived.MARK}\n    from .c import (\n        d,\n    )\nx = 1\n"
    )
    block = f"if TYPE_CHECKING:  {derived.MARK}\n    from .e import f\n"
    assert derived.with_block(source, block) == (
        f"if TYPE_CHECKING:\n    from .a import b\n{block}x = 1\n"
    )
    with pytest.raises(LookupError, match="no `if TYPE_CHECKING:"):
        derived.with_block("if TYPE_CHECKING:\n    from .a import b\n", block)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # The copy's cnnref, not the installed checkout's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(cwd)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# What the copy's cnnref lists and binds, once one op is gone.
WHAT_REMAINS = """
import cnnref, cnnref.reference, cnnref.strategies
from cnnref.ops import FUNCTIONS, OPS
assert "adaptive_max_pool2d" not in OPS and len(OPS) == {count}, OPS
assert {{*FUNCTIONS}} <= {{*cnnref.__all__}} == {{*dir(cnnref)}}, cnnref.__all__
assert not any("adaptive_max" in name for name in cnnref.__all__), cnnref.__all__
for name in FUNCTIONS:
    assert getattr(cnnref, name) is getattr(cnnref.reference, name), name
from cnnref.strategies import AdaptiveAvgPoolCase, ConvCase, adaptive_avg_pool_cases
try:
    cnnref.strategies.AdaptiveMaxPoolCase
except AttributeError:
    pass
else:
    raise AssertionError("the removed op's case is still found")
print(" ".join(FUNCTIONS))
"""


@pytest.mark.slow
def test_an_op_is_its_folder_and_its_line_in_the_registry(tmp_path: Path):
    """A copy of the package without adaptive_max_pool2d's folder and its line in ``OPS``
    imports and lists the other ops' functions as it is; ``scripts/derived.py --typed``
    rewrites the three typed-name blocks, and nothing else; then mypy passes on it."""
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "cnnref", copy / "cnnref", ignore=ignore)
    shutil.copytree(ROOT / "scripts", copy / "scripts", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.rmtree(copy / "cnnref" / "ops" / "adaptive_max_pool2d")
    registry = copy / "cnnref" / "ops" / "__init__.py"
    lines = registry.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith('"adaptive_max_pool2d":')]
    assert len(kept) == len(lines) - 1
    registry.write_text("".join(kept))

    listed = _run([sys.executable, "-c", WHAT_REMAINS.format(count=len(OPS) - 1)], copy)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [f for f in FUNCTIONS if "adaptive_max" not in f]

    before = {path: (copy / path).read_text() for path in FACADES}
    derived = _run([sys.executable, "scripts/derived.py", "--typed"], copy)
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.split() == [word for path in FACADES for word in ("rewrote", path)]
    for path in FACADES:
        assert "adaptive_max" in before[path]
        assert "adaptive_max" not in (copy / path).read_text(), path

    # The checkout's own cache, where .ci/run's type check left one, spares the modules the
    # removal leaves as they were (mypy rechecks any whose source or dependencies differ).
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", tmp_path / "mypy_cache")
    cache = ["--cache-dir", str(tmp_path / "mypy_cache")]
    checked = _run([sys.executable, "-m", "mypy", *cache], copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found"), checked.stdout

    # What mypy makes of the names: each remaining one precisely, the removed one not at all.
    (copy / "uses.py").write_text(USES)
    revealed = _run([sys.executable, "-m", "mypy", *cache, "uses.py"], copy).stdout
    said = [line.split(":", 2) for line in revealed.splitlines() if line.startswith("uses.py:")]
    verdicts = {int(number): what for _, number, what in said}
    for number, expected in enumerate(USES_READ_AS, start=1):
        if expected is None:
            assert number not in verdicts, (number, revealed)
        else:
            assert expected in verdicts.get(number, ""), (number, expected, revealed)


# A user's code, line by line, and what mypy must say of each line (USES_READ_AS; None: nothing).
USES = """import cnnref, cnnref.strategies
reveal_type(cnnref.conv2d)
reveal_type(cnnref.reference.avg_pool2d_backward)
reveal_type(cnnref.strategies.ConvCase)
reveal_type(cnnref.strategies.adaptive_avg_pool_cases)
cnnref.adaptive_max_pool2d
cnnref.strategies.AdaptiveMaxPoolCase
cnnref.ConvCase
"""
USES_READ_AS: tuple[str | None, ...] = (
    None,
    "-> numpy.ndarray[",
    "-> numpy.ndarray[",
    "-> cnnref.ops.conv2d.cases.ConvCase",
    "-> hypothesis.strategies._internal.strategies.SearchStrategy[cnnref.ops.adaptive_avg_pool2d",
    'Module has no attribute "adaptive_max_pool2d"',
    'Module has no attribute "AdaptiveMaxPoolCase"',
    'Module has no attribute "ConvCase"',
)
