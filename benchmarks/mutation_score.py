"""How many single-point bugs in a correct implementation does a default ``cnnref verify`` catch?

    python benchmarks/mutation_score.py                      # every mutant (long: see README)
    python benchmarks/mutation_score.py --sample 120 --seed 0 --jobs 2 --json mutants.json
    python benchmarks/mutation_score.py --operator default   # only the mutants of one kind
    python benchmarks/mutation_score.py --limit 0            # the equivalence filter only
    python benchmarks/mutation_score.py --list               # the mutants only, nothing run

1. Mutants.  ``tests/candidates/loops.py`` (conv and max pool as plain loops, correct) is
   parsed with ``ast`` and changed at one point at a time: an arithmetic operator, a
   comparison, a constant ±1, two indices of a subscript, two arguments of a call or two
   elements of a tuple swapped, a statement removed, a condition negated, ``and``/``or``
   exchanged, a keyword argument dropped, a default argument changed.  Each mutant is a
   module in a temporary folder, named by its mutation (``loops.py:42 a < b -> a <= b``).
2. Equivalent mutants.  Each mutant runs, in a process of its own with a timeout and a
   memory limit, on a fixed set of calls whose answers PyTorch (``torch.nn.functional``,
   autograd for the backwards; conv in float64, rounded to the inputs' dtype) computed: random geometries with stride, padding, dilation,
   groups and ceil_mode; plain ints, pairs and omitted arguments as callers pass them;
   ``b=None``; float32 and float64 (the outputs' dtype compared); ties, NaN and -inf in
   pool inputs; NaN and inf in dy; non-contiguous inputs; inputs checked unmodified.  A
   mutant that matches PyTorch on every call is equivalent; the rest are non-equivalent.
3. Verdicts.  Each non-equivalent mutant is checked exactly as a user would:
   ``python -m cnnref verify --impl <mutant> -x --json ...`` in a fresh process with
   ``CI=true`` (derandomized, so reproducible), with ``--ops`` naming the family (conv,
   pool) whose public functions reach the mutated function: the other family's code is the
   original's and its properties never call the mutated code, so the verdict is the one a
   run of all four functions gives, in less time (``--all-ops`` runs all four anyway).  Exit 1 with a failed property in the report:
   killed.  Exit 0: survived.  Anything else (exit 2, a traceback, a property with status
   ``error``, a run past ``--verify-timeout``): cnnref errored, listed apart.
4. Report.  The kill rate (killed / non-equivalent with a verdict), every survivor with its
   mutation and the function it touched, and counts by mutation operator.

Measured, never asserted.  ``tests/checks/test_mutation_score.py`` tests the generator and the
equivalence filter only.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: tests.candidates must import
    sys.path.insert(0, str(ROOT))
SOURCE = ROOT / "tests" / "candidates" / "loops.py"
FUNCTIONS = ("conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward")

# ---------------------------------------------------------------------------------------------
# 1. Mutants


@dataclass
class Mutant:
    id: str  # a module name: m0001
    operator: str  # which kind of change (see OPERATORS)
    line: int  # in the original file
    function: str  # the top-level function it touched
    ops: list[str]  # the families (conv, pool) whose public functions reach that function
    before: str
    after: str
    source: str = field(repr=False)

    @property
    def name(self) -> str:
        return f"{SOURCE.name}:{self.line} {self.before} -> {self.after}"


OPERATORS = (
    "arithmetic",  # + - * / // | & exchanged, also in augmented assignments
    "comparison",  # < <= > >= == != into each other, is <-> is not, in <-> not in
    "constant",  # a number ±1, True <-> False
    "negation",  # a unary minus or `not` removed
    "condition",  # an if's or a conditional expression's test negated
    "boolean",  # and <-> or
    "swap_index",  # two adjacent indices of a subscript exchanged
    "swap_argument",  # two adjacent positional arguments of a call exchanged
    "swap_tuple",  # two adjacent elements of a tuple exchanged (values returned, targets, pairs)
    "drop_keyword",  # a keyword argument of a call removed (dtype=..., axis=...)
    "remove_statement",  # a statement replaced by pass
    "default",  # a function's default argument changed
)

_ARITHMETIC: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Add, ast.Div),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Mult, ast.Div),
    ast.BitOr: (ast.BitAnd,),
    ast.BitAnd: (ast.BitOr,),
}
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_COMPARISON: dict[type, tuple[type, ...]] = {
    **{op: tuple(other for other in _ORDER if other is not op) for op in _ORDER},
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}

# A change: (operator, the node whose text shows it, a function applying it to a copy of the
# tree).  The function receives the copied tree's nodes, in ast.walk order.
Change = tuple[str, int, Callable[[dict[int, ast.AST]], None]]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.stmt):
        first = ast.unparse(node).splitlines()[0]
        return _short(first + (" ..." if hasattr(node, "body") else ""))
    return _short(ast.unparse(node))


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _changes(nodes: list[ast.AST]) -> Iterator[Change]:
    """Every single-point change of the tree whose nodes (ast.walk order) are given."""
    index = {id(node): i for i, node in enumerate(nodes)}
    defaults = {
        id(default)
        for node in nodes
        if isinstance(node, ast.FunctionDef)
        for default in [*node.args.defaults, *node.args.kw_defaults]
        if default is not None
    }
    for i, node in enumerate(nodes):
        if isinstance(node, ast.BinOp | ast.AugAssign):
            for new in _ARITHMETIC.get(type(node.op), ()):
                yield "arithmetic", i, lambda t, i=i, new=new: setattr(t[i], "op", new())
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                for new in _COMPARISON.get(type(op), ()):
                    yield (
                        "comparison",
                        i,
                        lambda t, i=i, k=k, new=new: t[i].ops.__setitem__(k, new()),
                    )
        elif isinstance(node, ast.Constant) and id(node) not in defaults:
            yield from _constant_changes(i, node, "constant")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
            yield "negation", index[id(node)], _replace_with_operand(nodes, node)
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield "boolean", i, lambda t, i=i, new=new: setattr(t[i], "op", new())
        elif isinstance(node, ast.Call):
            for k in range(len(node.args) - 1):
                if ast.dump(node.args[k]) != ast.dump(node.args[k + 1]):
                    yield "swap_argument", i, lambda t, i=i, k=k: _swap(t[i].args, k)
            for k in range(len(node.keywords)):
                yield "drop_keyword", i, lambda t, i=i, k=k: t[i].keywords.pop(k)
        elif isinstance(node, ast.Tuple):
            parent_subscript = any(
                isinstance(other, ast.Subscript) and other.slice is node for other in nodes
            )
            kind = "swap_index" if parent_subscript else "swap_tuple"
            for k in range(len(node.elts) - 1):
                if ast.dump(node.elts[k]) != ast.dump(node.elts[k + 1]):
                    shown = _parent_of(nodes, node) if parent_subscript else i
                    yield kind, shown, lambda t, i=i, k=k: _swap(t[i].elts, k)
        if isinstance(node, ast.If | ast.IfExp):
            yield "condition", i, lambda t, i=i: setattr(t[i], "test", _negated(t[i].test))
        if isinstance(node, ast.FunctionDef):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    yield from _default_changes(index[id(default)], default)
        for field_name in ("body", "orelse", "finalbody"):
            body = getattr(node, field_name, None)
            # A change is made in one top-level statement: removing one is not such a change.
            if not isinstance(body, list) or isinstance(node, ast.Module):
                continue
            for k, statement in enumerate(body):
                if isinstance(statement, ast.Import | ast.ImportFrom | ast.FunctionDef) or (
                    _is_docstring(statement)
                ):
                    continue
                yield (
                    "remove_statement",
                    index[id(statement)],
                    lambda t, i=i, f=field_name, k=k: _remove(getattr(t[i], f), k),
                )


def _constant_changes(i: int, node: ast.Constant, operator: str) -> Iterator[Change]:
    value = node.value
    if isinstance(value, bool):
        yield operator, i, lambda t, i=i: setattr(t[i], "value", not value)
    elif isinstance(value, int | float):
        for new in (value + 1, value - 1):
            yield operator, i, lambda t, i=i, new=new: setattr(t[i], "value", new)


def _default_changes(i: int, node: ast.expr) -> Iterator[Change]:
    if isinstance(node, ast.Constant) and node.value is None:
        yield "default", i, lambda t, i=i: setattr(t[i], "value", 1)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield from _constant_changes(i, node, "default")
    elif isinstance(node, ast.Constant) and isinstance(node.value, int):
        for new in (node.value + 1, node.value - 1):
            if new >= 0:
                yield "default", i, lambda t, i=i, new=new: setattr(t[i], "value", new)


def _swap(items: list, k: int) -> None:
    items[k], items[k + 1] = items[k + 1], items[k]


def _remove(body: list, k: int) -> None:
    body[k] = ast.Pass()


def _negated(test: ast.expr) -> ast.expr:
    return ast.UnaryOp(op=ast.Not(), operand=test)


def _parent_of(nodes: list[ast.AST], child: ast.AST) -> int:
    for i, node in enumerate(nodes):
        if any(sub is child for sub in ast.iter_child_nodes(node)):
            return i
    raise ValueError("a node without a parent")


def _replace_with_operand(nodes: list[ast.AST], unary: ast.UnaryOp) -> Callable:
    parent = _parent_of(nodes, unary)
    child = nodes.index(unary)

    def apply(t: dict[int, ast.AST]) -> None:
        holder, target = t[parent], t[child]
        for name, value in ast.iter_fields(holder):
            if value is target:
                setattr(holder, name, target.operand)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = target.operand

    apply.shown = parent  # type: ignore[attr-defined]
    return apply


def _enclosing_function(tree: ast.Module, line: int) -> str:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return "(module)"


def _families(tree: ast.Module) -> dict[str, list[str]]:
    """Top-level function -> the families (conv, pool) of the public functions that reach it."""
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    calls = {
        name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defined}
        for name, node in defined.items()
    }
    reached: dict[str, set[str]] = {name: set() for name in defined}
    for public in FUNCTIONS:
        todo = [public] if public in defined else []
        while todo:
            name = todo.pop()
            family = "conv" if public.startswith("conv") else "pool"
            if family not in reached[name]:
                reached[name].add(family)
                todo.extend(calls[name] - {name})
    return {name: sorted(families) or ["conv", "pool"] for name, families in reached.items()}


def _joined(statements: list[str]) -> str:
    return "\n\n".join(statements)


def generate_mutants(source: str) -> list[Mutant]:
    """Every single-point mutant of ``source``, each a whole module's text, in a stable order."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    pieces = [ast.unparse(statement) for statement in tree.body]  # re-made only where changed
    original = _joined(pieces)
    parameters = {  # a default's node -> its parameter's name, to name the mutation
        id(default): argument.arg
        for node in nodes
        if isinstance(node, ast.FunctionDef)
        for argument, default in [
            *zip(node.args.args[::-1], node.args.defaults[::-1]),
            *zip(node.args.kwonlyargs, node.args.kw_defaults),
        ]
    }
    families = _families(tree)
    # A change touches one top-level statement: only that one is parsed again, and its nodes are
    # handed to the change under their indices in the whole module's ast.walk order.
    position = {id(node): k for k, node in enumerate(nodes)}
    segments = [ast.get_source_segment(source, statement) for statement in tree.body]
    walks = [[position[id(node)] for node in ast.walk(statement)] for statement in tree.body]
    top_of = {k: top for top, walk in enumerate(walks) for k in walk}
    mutants, seen = [], set()
    for operator, shown, apply in _changes(nodes):
        shown = getattr(apply, "shown", shown)
        top = top_of[shown]
        copied = ast.parse(segments[top]).body[0]
        copied_nodes = dict(zip(walks[top], ast.walk(copied)))
        line = getattr(nodes[shown], "lineno", 0)
        before = _describe(nodes[shown])
        apply(copied_nodes)
        after = "(removed)" if operator == "remove_statement" else _describe(copied_nodes[shown])
        if operator == "default":
            before, after = (f"{parameters[id(nodes[shown])]}={text}" for text in (before, after))
        text = _joined([*pieces[:top], ast.unparse(copied), *pieces[top + 1 :]])
        if text == original or text in seen:
            continue  # a change that changes nothing, or the same mutant reached twice
        seen.add(text)
        function = _enclosing_function(tree, line)
        mutants.append(
            Mutant(
                id=f"m{len(mutants) + 1:04d}",
                operator=operator,
                line=line,
                function=function,
                ops=families.get(function, ["conv", "pool"]),
                before=before,
                after=after,
                source=text,
            )
        )
    return mutants


def write_mutants(mutants: list[Mutant], folder: Path) -> None:
    for mutant in mutants:
        header = f"# mutant {mutant.id} ({mutant.operator}): {mutant.name}\n"
        (folder / f"{mutant.id}.py").write_text(header + mutant.source + "\n")


# ---------------------------------------------------------------------------------------------
# 2. The equivalence filter: calls, PyTorch's answers, and a checker run per mutant


@dataclass
class Call:
    function: str
    args: list  # arrays, ints, tuples, None, bools, positionally
    kwargs: dict
    layouts: dict[int, str]  # positional index -> "fortran" or "strided" (made in the checker)
    expected: object = None  # PyTorch's output: an array, or a tuple of arrays and None
    magnitude: object = None  # the same function applied to |inputs| (tolerances); None: exact

    def describe(self) -> str:
        def show(value: object) -> str:
            if hasattr(value, "shape"):
                return f"<{value.dtype} {tuple(value.shape)}>"
            return repr(value)

        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"{self.function}({', '.join(parts)})"


_CONV_DEFAULTS = {"b": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}
_POOL_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}


def _as_passed(rng: random.Random, pair: tuple[int, int]) -> int | tuple[int, int]:
    """A pair as a caller passes it: a plain int where both sides agree, half the time."""
    return pair[0] if pair[0] == pair[1] and rng.random() < 0.5 else pair


def _is(value: object, default: object) -> bool:
    """Whether passing ``value`` means the default (so that a caller may leave it out)."""
    if value is None or default is None or hasattr(value, "shape"):
        return value is default
    return value in (default, (default, default))


def _arrange(rng: random.Random, leading: list, settings: dict, defaults: dict) -> tuple:
    """Positional, keyword or omitted: how a caller passes ``settings``."""
    style = rng.choice(["positional", "keyword", "omit_defaults", "omit_defaults"])
    names = list(defaults)
    if style == "positional":
        return [*leading, *(settings[n] for n in names)], {}
    kept = {
        n: settings[n] for n in names if style == "keyword" or not _is(settings[n], defaults[n])
    }
    if style == "keyword" or rng.random() < 0.5:
        return list(leading), kept
    # positional up to the first omitted one, keywords after it
    args = list(leading)
    for n in names:
        if n not in kept:
            break
        args.append(kept.pop(n))
    return args, kept


def _values(rng: random.Random, np, shape: tuple, dtype: str, special: str = "") -> object:
    generator = np.random.default_rng(rng.randrange(2**32))
    if special == "ties":
        values = generator.integers(-1, 2, size=shape).astype(dtype)
    else:
        values = generator.standard_normal(shape).astype(dtype)
    if special in ("nan", "inf", "mixed") and values.size:
        for bad in {"nan": [np.nan], "inf": [np.inf, -np.inf], "mixed": [np.nan, np.inf, -np.inf]}[
            special
        ]:
            where = generator.random(shape) < 0.15
            values[where] = bad
    if special == "neg_inf" and values.size:
        values[generator.random(shape) < 0.5] = -np.inf
        values[0, 0] = -np.inf  # a whole plane: windows with nothing but -inf
    return values


def _conv_calls(rng: random.Random, np, count: int) -> list[Call]:
    calls = []
    while len(calls) < count:
        dtype = rng.choice(["float64", "float32"])
        plain = rng.random() < 0.3  # every setting at its default
        groups = 1 if plain else rng.randint(1, 3)
        cg, og = rng.randint(1, 2), rng.randint(1, 2)
        kernel = (rng.randint(1, 3), rng.randint(1, 3))
        stride = (1, 1) if plain else (rng.randint(1, 3), rng.randint(1, 3))
        padding = (0, 0) if plain or rng.random() < 0.3 else (rng.randint(0, 2), rng.randint(0, 2))
        dilation = (1, 1) if plain or rng.random() < 0.5 else (rng.randint(1, 2), rng.randint(1, 2))
        span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
        side = [max(1, s - 2 * p + rng.randint(0, 4)) for s, p in zip(span, padding)]
        if any(n + 2 * p < s for n, p, s in zip(side, padding, span)):
            continue
        n = rng.randint(1, 2)
        x = _values(rng, np, (n, groups * cg, *side), dtype)
        w = _values(rng, np, (groups * og, cg, *kernel), dtype)
        b = None if rng.random() < 0.4 else _values(rng, np, (groups * og,), dtype)
        settings = {
            "b": b,
            "stride": _as_passed(rng, stride),
            "padding": _as_passed(rng, padding),
            "dilation": _as_passed(rng, dilation),
            "groups": groups,
        }
        layouts = {}
        if rng.random() < 0.3:
            layouts[0] = rng.choice(["fortran", "strided"])
        if rng.random() < 0.2:
            layouts[1] = "fortran"
        args, kwargs = _arrange(rng, [x, w], settings, _CONV_DEFAULTS)
        calls.append(Call("conv2d", args, kwargs, layouts))
        out = [(size + 2 * p - s) // st + 1 for size, p, s, st in zip(side, padding, span, stride)]
        special = rng.choice(["", "", "nan", "inf", "mixed"])
        dy = _values(rng, np, (n, groups * og, *out), dtype, special)
        shifted = {k + 1: v for k, v in layouts.items()}
        if rng.random() < 0.2:
            shifted[0] = "fortran"
        args, kwargs = _arrange(rng, [dy, x, w], settings, _CONV_DEFAULTS)
        calls.append(Call("conv2d_backward", args, kwargs, shifted))
    return calls


def _windows_reach_input(side, kernel, stride, padding, dilation, out) -> bool:
    """Whether every pooling window holds at least one input element (not only padding)."""
    return all(
        any(0 <= o * s + i * d - p < n for i in range(k))
        for n, k, s, p, d, count in zip(side, kernel, stride, padding, dilation, out)
        for o in range(count)
    )


def _pool_calls(rng: random.Random, np, count: int) -> list[Call]:
    import torch
    import torch.nn.functional as F

    calls = []
    while len(calls) < count:
        dtype = rng.choice(["float64", "float32"])
        plain = rng.random() < 0.3
        kernel = (rng.randint(1, 3), rng.randint(1, 3))
        # strides past the kernel too: ceil_mode's last window can then start past the input
        stride = None if plain or rng.random() < 0.3 else (rng.randint(1, 4), rng.randint(1, 4))
        dilation = (1, 1) if plain or rng.random() < 0.5 else (rng.randint(1, 2), rng.randint(1, 2))
        padding = (0, 0) if plain else tuple(rng.randint(0, k // 2) for k in kernel)
        ceil_mode = False if plain else rng.random() < 0.5
        side = (rng.randint(1, 7), rng.randint(1, 7))
        x = _values(
            rng,
            np,
            (rng.randint(1, 2), rng.randint(1, 2), *side),
            dtype,
            rng.choice(["", "ties", "ties", "nan", "neg_inf"]),
        )
        try:  # PyTorch's rules for valid geometries are the oracle's
            y = F.max_pool2d(
                torch.from_numpy(x), kernel, stride or kernel, padding, dilation, ceil_mode
            )
        except RuntimeError:
            continue
        if not _windows_reach_input(side, kernel, stride or kernel, padding, dilation, y.shape[2:]):
            continue  # PyTorch's backward writes out of bounds there (heap corruption, 2.13 CPU)
        settings = {
            "stride": None if stride is None else _as_passed(rng, stride),
            "padding": _as_passed(rng, padding),
            "dilation": _as_passed(rng, dilation),
            "ceil_mode": ceil_mode,
        }
        k = _as_passed(rng, kernel)
        layouts = {0: rng.choice(["fortran", "strided"])} if rng.random() < 0.3 else {}
        args, kwargs = _arrange(rng, [x, k], settings, _POOL_DEFAULTS)
        calls.append(Call("max_pool2d", args, kwargs, layouts))
        special = rng.choice(["", "", "nan", "inf", "mixed"])
        dy = _values(rng, np, tuple(y.shape), dtype, special)
        args, kwargs = _arrange(rng, [dy, x, k], settings, _POOL_DEFAULTS)
        calls.append(Call("max_pool2d_backward", args, kwargs, {1: layouts[0]} if layouts else {}))
    return calls


def _torch_answer(call: Call, absolute: bool) -> object:
    """PyTorch's output for ``call`` (with ``absolute``: for |inputs|, the tolerance's scale)."""
    import inspect

    import torch
    import torch.nn.functional as F

    from tests.candidates import loops  # only for its signatures

    bound = inspect.signature(getattr(loops, call.function)).bind(*call.args, **call.kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)

    def tensor(value: object, grad: bool = False, dtype: object = None) -> object:
        if value is None:
            return None
        t = torch.from_numpy((abs(value) if absolute else value).astype(dtype or value.dtype))
        return t.requires_grad_(grad)

    def pair(value: object) -> object:
        return value if value is None or isinstance(value, int) else tuple(value)

    if call.function.startswith("conv2d"):
        backward = call.function == "conv2d_backward"
        # In float64, rounded to the inputs' dtype: PyTorch's float32 conv backward (oneDNN)
        # skips the padding, so an inf in dy times a padded zero is -inf there, where float64
        # PyTorch, IEEE arithmetic and cnnref's reference give NaN.
        dtype = a["x"].dtype
        x, w, b = (tensor(a[n], backward, "float64") for n in ("x", "w", "b"))
        y = F.conv2d(
            x, w, b, pair(a["stride"]), pair(a["padding"]), pair(a["dilation"]), a["groups"]
        )
        if not backward:
            return y.detach().numpy().astype(dtype)
        y.backward(tensor(a["dy"], dtype="float64"))
        grads = (x.grad, w.grad, None if b is None else b.grad)
        return tuple(None if g is None else g.numpy().astype(dtype) for g in grads)
    backward = call.function == "max_pool2d_backward"
    x = torch.from_numpy(a["x"].copy()).requires_grad_(backward)  # routes follow x, never |x|
    kernel = pair(a["kernel_size"])
    stride = kernel if a["stride"] is None else pair(a["stride"])
    y = F.max_pool2d(x, kernel, stride, pair(a["padding"]), pair(a["dilation"]), a["ceil_mode"])
    if not backward:
        return y.detach().numpy()
    y.backward(tensor(a["dy"]))
    return x.grad.numpy()


def equivalence_calls(seed: int = 16, per_function: int = 40) -> list[Call]:
    """The fixed calls every mutant must answer as PyTorch does, with PyTorch's answers."""
    import numpy as np

    rng = random.Random(seed)
    calls = _conv_calls(rng, np, 2 * per_function) + _pool_calls(rng, np, 2 * per_function)
    for call in calls:
        call.expected = _torch_answer(call, absolute=False)
        if call.function != "max_pool2d":  # pooling selects: its forward must match exactly
            call.magnitude = _torch_answer(call, absolute=True)
    return calls


def save_calls(calls: list[Call], path: Path) -> None:
    """Plain fields only: the checker's process loads them whatever module name this file has."""
    path.write_bytes(pickle.dumps([vars(call) for call in calls]))


_TOLERANCE = {"float64": 1e-10, "float32": 1e-4}  # of the magnitude of the terms summed


def _difference(actual: object, expected: object, magnitude: object) -> str | None:
    """Why ``actual`` is not PyTorch's ``expected``, or None."""
    import numpy as np

    if expected is None:
        return None if actual is None else f"returned {type(actual).__name__} where None is due"
    if not hasattr(actual, "dtype") or not hasattr(actual, "shape"):
        return f"returned {type(actual).__name__}, not an array"
    if actual.shape != expected.shape:
        return f"shape {tuple(actual.shape)}, PyTorch's is {tuple(expected.shape)}"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, PyTorch's is {expected.dtype}"
    actual = np.asarray(actual)
    finite = np.isfinite(expected)
    if not np.array_equal(actual[~finite], expected[~finite], equal_nan=True):
        return "different non-finite entries (NaN, inf) from PyTorch's"
    if not np.isfinite(actual[finite]).all():
        return "non-finite entries where PyTorch's are finite"
    error = np.abs(actual[finite].astype(np.float64) - expected[finite])
    if magnitude is None:
        allowed = np.zeros_like(error)
    else:
        allowed = _TOLERANCE[str(expected.dtype)] * np.abs(magnitude[finite]).astype(np.float64)
    if (error > allowed).any():
        worst = int(np.argmax(error - allowed))
        return f"error {error[worst]:.3g} where {allowed[worst]:.3g} is allowed"
    return None


def _laid_out(value: object, layout: str | None) -> object:
    import numpy as np

    if layout == "fortran":
        return np.asfortranarray(value)
    if layout == "strided":  # every other column of an array twice as wide
        wide = np.zeros((*value.shape[:-1], 2 * value.shape[-1]), value.dtype)
        wide[..., ::2] = value
        return wide[..., ::2]
    return value


def check_module(module: object, calls: list[Call]) -> str | None:
    """The first call on which ``module`` differs from PyTorch, said in one line, or None."""
    import numpy as np

    for number, call in enumerate(calls):
        args = [_laid_out(a, call.layouts.get(k)) for k, a in enumerate(call.args)]
        kept = [a.copy() if hasattr(a, "copy") else a for a in args]
        where = f"call {number} {call.describe()}"
        try:
            out = getattr(module, call.function)(*args, **call.kwargs)
        except Exception as error:
            return f"{where}: raised {type(error).__name__}: {_short(str(error), 80)}"
        for a, k in zip(args, kept):
            if hasattr(a, "dtype") and not np.array_equal(a, k, equal_nan=True):
                return f"{where}: modified its input"
        if call.function == "conv2d_backward":
            if not isinstance(out, tuple | list) or len(out) != 3:
                return f"{where}: returned {type(out).__name__}, not (dx, dw, db)"
            pieces = zip(out, call.expected, call.magnitude)
            for name, (o, e, m) in zip(("dx", "dw", "db"), pieces):
                reason = _difference(o, e, m)
                if reason:
                    return f"{where}: {name}: {reason}"
        else:
            reason = _difference(out, call.expected, call.magnitude)
            if reason:
                return f"{where}: {reason}"
    return None


def _checker_main(mutant_path: str, calls_path: str) -> None:
    """In the mutant's own process: load it, run the calls, print the verdict as JSON."""
    import importlib.util
    import warnings

    warnings.simplefilter("ignore")  # NaN and inf in dy make NumPy warn, as they should
    spec = importlib.util.spec_from_file_location(Path(mutant_path).stem, mutant_path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        with open(calls_path, "rb") as handle:
            calls = [Call(**fields) for fields in pickle.load(handle)]  # written by this script
        reason = check_module(module, calls)
    except Exception as error:
        reason = f"raised {type(error).__name__}: {_short(str(error), 80)}"
    print(json.dumps({"difference": reason}))


def _limit_memory() -> None:
    import resource

    limit = 4 * 2**30  # a mutant may allocate without end; the machine is shared
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _quiet_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


def equivalence(mutant_path: Path, calls_path: Path, timeout: float) -> str | None:
    """How the mutant differs from PyTorch (in a process of its own), or None: equivalent."""
    command = [sys.executable, __file__, "--check", str(mutant_path), str(calls_path)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_quiet_env(),
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return f"ran past {timeout:g} s"
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])["difference"]
    except (IndexError, ValueError, KeyError):
        return f"its process died (exit {done.returncode}): {_short(done.stderr, 80)}"


# ---------------------------------------------------------------------------------------------
# 3. cnnref's verdicts


def verdict(mutant: Mutant, folder: Path, timeout: float, all_ops: bool = False) -> dict:
    """``cnnref verify`` on the mutant, as a user runs it: killed, survived or error.

    Unless ``all_ops``, only the family (conv, pool) whose functions reach the mutated code is
    checked: the other family's functions are the original's, and its properties never call
    the mutated ones, so the verdict is a full run's, in less time.
    """
    report = folder / f"{mutant.id}.report.json"
    command = [
        sys.executable,
        "-m",
        "cnnref",
        "verify",
        "--impl",
        mutant.id,
        "-x",
        "--json",
        str(report),
    ]
    if not all_ops:
        command += ["--ops", *mutant.ops]
    env = _quiet_env(CI="true", PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    env.pop("OMP_NUM_THREADS")  # cnnref's own settings, as a user gets them
    env.pop("OPENBLAS_NUM_THREADS")
    env.pop("MKL_NUM_THREADS")
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "error", "why": f"ran past {timeout:g} s", "seconds": timeout}
    seconds = round(time.monotonic() - start, 1)
    statuses: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        properties = json.loads(report.read_text())["properties"]
        statuses = {p["name"]: p["status"] for p in properties}
    failed = sorted(name for name, status in statuses.items() if status == "failed")
    errored = sorted(name for name, status in statuses.items() if status == "error")
    if done.returncode == 0 and statuses and not errored:
        return {"outcome": "survived", "seconds": seconds}
    if done.returncode == 1 and failed and not errored:
        return {"outcome": "killed", "by": failed, "seconds": seconds}
    why = f"exit {done.returncode}" + (f", errored: {', '.join(errored)}" if errored else "")
    tail = _short(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "", 120)
    return {"outcome": "error", "why": f"{why}; {tail}", "seconds": seconds}


# ---------------------------------------------------------------------------------------------
# 4. The run and its report


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def _parallel(function: Callable, items: list, jobs: int, label: str) -> list:
    results: list = [None] * len(items)
    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(function, item): k for k, item in enumerate(items)}
        for future in futures:
            results[futures[future]] = future.result()
            done += 1
            if done % 25 == 0 or done == len(items):
                print(f"  {label}: {done}/{len(items)}", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants checked at once (default 2)")
    parser.add_argument(
        "--limit", type=int, help="verify only the first N non-equivalent mutants (0: filter only)"
    )
    parser.add_argument("--sample", type=int, help="verify a random N of the non-equivalent ones")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument(
        "--operator",
        action="append",
        choices=OPERATORS,
        help="verify only mutants of this kind (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    parser.add_argument("--equivalence-timeout", type=float, default=60, metavar="S")
    parser.add_argument("--verify-timeout", type=float, default=900, metavar="S")
    parser.add_argument(
        "--all-ops",
        action="store_true",
        help="verify all four functions of every mutant, not only the family "
        "(conv, pool) its change reaches",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--keep", type=Path, help="write the mutants in this folder and keep it")
    parser.add_argument("--check", nargs=2, help=argparse.SUPPRESS)  # the checker's process
    options = parser.parse_args(argv)
    if options.check:
        _checker_main(*options.check)
        return 0
    for name, least in (("jobs", 1), ("limit", 0), ("sample", 1)):
        value = getattr(options, name)
        if value is not None and value < least:
            parser.error(f"--{name} must be at least {least}, got {value}")
    if options.json and not options.json.parent.is_dir():
        parser.error(f"--json {options.json}: directory {options.json.parent} does not exist")

    mutants = generate_mutants(SOURCE.read_text())
    if options.list:
        for m in mutants:
            print(f"{m.id}  {m.operator:16}  {m.function:20}  {m.name}")
        return 0
    with contextlib.ExitStack() as stack:
        if options.keep:
            options.keep.mkdir(parents=True, exist_ok=True)
            folder = options.keep
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mutants-")))
        return _run(options, mutants, folder)


def _run(options: argparse.Namespace, mutants: list[Mutant], folder: Path) -> int:
    started = time.monotonic()
    write_mutants(mutants, folder)
    calls_path = folder / "calls.pickle"
    calls = equivalence_calls()
    save_calls(calls, calls_path)
    (folder / "original.py").write_text(SOURCE.read_text())
    sanity = equivalence(folder / "original.py", calls_path, options.equivalence_timeout)
    if sanity is not None:
        print(f"the unmutated {SOURCE.name} differs from PyTorch: {sanity}", file=sys.stderr)
        return 1
    print(
        f"{len(mutants)} mutants of {SOURCE.relative_to(ROOT)}; checking each against "
        f"PyTorch on {len(calls)} calls",
        file=sys.stderr,
    )
    differences = _parallel(
        lambda m: equivalence(folder / f"{m.id}.py", calls_path, options.equivalence_timeout),
        mutants,
        options.jobs,
        "equivalence",
    )
    filtered = time.monotonic()
    results = {
        m.id: {**asdict(m), "name": m.name, "difference": d} for m, d in zip(mutants, differences)
    }
    for r in results.values():
        del r["source"]
    live = [m for m, d in zip(mutants, differences) if d is not None]
    chosen = [m for m in live if not options.operator or m.operator in options.operator]
    if options.sample is not None:
        # Every mutant shuffled, then the first non-equivalent ones: a change of the filter
        # leaves the rest of the sample as it was.  Run in that order, so that a run stopped
        # early is a sample too.
        order = random.Random(options.seed).sample(mutants, len(mutants))
        wanted = {m.id for m in chosen}
        chosen = [m for m in order if m.id in wanted][: options.sample]
    if options.limit is not None:
        chosen = chosen[: options.limit]
    print(
        f"{len(mutants) - len(live)} equivalent, {len(live)} non-equivalent; running "
        f"cnnref verify on {len(chosen)}",
        file=sys.stderr,
    )

    def save(done: list[Mutant]) -> dict:
        summary = _summary(
            mutants, live, done, results, filtered - started, time.monotonic() - filtered
        )
        if options.json:  # after every verdict: a run stopped early keeps what it measured
            document = {k: v for k, v in summary.items() if k != "text"}
            document["mutants"] = list(results.values())
            options.json.write_text(json.dumps(document, indent=1))
        return summary

    done: list[Mutant] = []

    def judge(m: Mutant) -> None:
        results[m.id].update(verdict(m, folder, options.verify_timeout, options.all_ops))
        r = results[m.id]
        print(
            f"  {m.id} {r['outcome']:8} {r['seconds']:6.1f} s  {m.name}",
            file=sys.stderr,
            flush=True,
        )
        with lock:
            done.append(m)
            save(done)

    lock = threading.Lock()
    _parallel(judge, chosen, options.jobs, "verify")
    print(save(chosen)["text"])
    return 0


def _summary(mutants, live, chosen, results, filter_seconds, verify_seconds) -> dict:
    outcomes = Counter(results[m.id]["outcome"] for m in chosen)
    judged = outcomes["killed"] + outcomes["survived"]
    rate = outcomes["killed"] / judged if judged else float("nan")
    times = sorted(results[m.id]["seconds"] for m in chosen)
    per_operator = []
    for operator in OPERATORS:
        of = [m for m in mutants if m.operator == operator]
        if not of:
            continue
        run = [results[m.id] for m in of if "outcome" in results[m.id]]
        count = Counter(r["outcome"] for r in run)
        per_operator.append(
            [
                operator,
                len(of),
                sum(results[m.id]["difference"] is None for m in of),
                len(run),
                count["killed"],
                count["survived"],
                count["error"],
            ]
        )
    survivors = [results[m.id] for m in chosen if results[m.id]["outcome"] == "survived"]
    errors = [results[m.id] for m in chosen if results[m.id]["outcome"] == "error"]
    text = [
        f"mutants: {len(mutants)}, equivalent (match PyTorch on every call): "
        f"{len(mutants) - len(live)}, non-equivalent: {len(live)}",
        f"verified: {len(chosen)}{' (a subset)' if len(chosen) < len(live) else ''}; killed "
        f"{outcomes['killed']}, survived {outcomes['survived']}, cnnref errored {outcomes['error']}",
        f"kill rate: {rate:.1%} ({outcomes['killed']}/{judged})",
        f"time: equivalence filter {filter_seconds:.0f} s, verification {verify_seconds:.0f} s "
        + (
            f"(per mutant: median {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s)"
            if times
            else ""
        ),
        "",
        _table(
            [[str(c) for c in row] for row in per_operator],
            ["operator", "mutants", "equivalent", "verified", "killed", "survived", "errored"],
        ),
    ]
    for title, rows in (("survivors", survivors), ("cnnref errored", errors)):
        if rows:
            text += [
                "",
                f"{title}:",
                _table(
                    [
                        [
                            r["id"],
                            r["function"],
                            r["operator"],
                            r["name"] + (f"  [{r['why']}]" if "why" in r else ""),
                        ]
                        for r in rows
                    ],
                    ["id", "function", "operator", "mutation"],
                ),
            ]
    return {
        "mutants": len(mutants),
        "equivalent": len(mutants) - len(live),
        "non_equivalent": len(live),
        "verified": len(chosen),
        "outcomes": dict(outcomes),
        "kill_rate": rate,
        "seconds": {"equivalence": filter_seconds, "verification": verify_seconds},
        "text": "\n".join(text),
    }


if __name__ == "__main__":
    sys.exit(main())
