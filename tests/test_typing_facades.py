"""The names cnnref binds at run time from its registry are also spelled out for type checkers.

``cnnref.conv2d``, ``cnnref.reference.conv2d`` and ``cnnref.strategies.ConvCase`` are found
through the registry (``cnnref.ops.OPS``) when first used, so that the candidate's lean
process imports none of them; an ``if TYPE_CHECKING:`` block in each module names them for
mypy and editors. These tests hold the two lists together: a name the registry adds without
its typed import, or a typed import that is not what the registry binds, fails here.
"""

import ast
import importlib
import inspect

import pytest

import cnnref
from cnnref.ops import FUNCTIONS, OPS


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
