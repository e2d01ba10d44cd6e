"""The ops cnnref checks, one folder each, and the one list of them.

An op ``name`` is the folder ``cnnref/ops/<name>/`` and two functions, ``name``
and ``name_backward``.  The folder holds everything particular to the op:

* ``literal.py``: the op as its derivation reads (docs/derivation.md), the oracle;
* ``fast.py``: what ``cnnref.<name>`` runs; it shares no code with the literal form;
* ``geometry.py``: its argument checks, which both forms run first;
* ``cases.py``: its examples, and the Hypothesis strategy that draws them;
* ``properties.py``: its spec, from which the properties every op has are built
  (``cnnref.checks.standard``), and the claims only it makes, with the hints
  that explain a failure (``hints.py``) beside them;
* its oracles' own parts: any independent implementation besides PyTorch
  (``scipy_oracle.py``), the magnitudes its tolerances scale with (``scales.py``);
* ``derivation.html``: its maths, for the report;
* ``__init__.py``: its call (``SIGNATURE``: operands, geometry and defaults), and the
  features a candidate may declare it lacks.

What the ops share (argument rules in ``arguments.py``, comparison and
tolerances, finite differences, the runner, the sandbox, the reports) lives
outside the ops' folders.  Everything that lists ops or functions (the
public functions, the CLI's choices, the report's enumerations, the
declarable features) reads this module.  It loads no op's code until asked
(``form``, ``op_features``, ``op_operands``, ``op_signature``), so that the candidate's
lean process may read it too.  Adding an op is adding its folder and its line in ``OPS``;
``scripts/derived.py`` then rewrites what is written from this list rather than read from it
(the names type checkers see, the committed report).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

OPS: dict[str, str] = {  # op -> its group: the short name that selects both of its functions
    "conv2d": "conv",
    "max_pool2d": "max_pool",
    "conv_transpose2d": "conv_transpose",
    "avg_pool2d": "avg_pool",
    "adaptive_avg_pool2d": "adaptive_avg_pool",
    "adaptive_max_pool2d": "adaptive_max_pool",
}
# Earlier names of groups, accepted wherever a group is: alias -> group.
GROUP_ALIASES: dict[str, str] = {"pool": "max_pool"}
FUNCTIONS: tuple[str, ...] = tuple(f for op in OPS for f in (op, f"{op}_backward"))
GROUPS: dict[str, tuple[str, str]] = {group: (op, f"{op}_backward") for op, group in OPS.items()}
GROUPS |= {alias: GROUPS[group] for alias, group in GROUP_ALIASES.items()}


def op_of(function: str) -> str:
    """The op a function belongs to: ``conv2d_backward`` -> ``conv2d``."""
    op = function.removesuffix("_backward")
    if op not in OPS:
        raise KeyError(f"no op has a function {function!r}; known: {', '.join(FUNCTIONS)}")
    return op


def form(function: str, kind: str = "fast"):
    """The reference's ``function`` in its ``"fast"`` or ``"literal"`` form."""
    module = importlib.import_module(f"{__name__}.{op_of(function)}.{kind}")
    return getattr(module, function)


def op_operands(op: str) -> tuple[str, ...]:
    """The arrays ``op``'s forward takes, in order (``("x", "w", "b")``)."""
    return op_signature(op).operands


def op_features(op: str) -> dict[str, str]:
    """The features only ``op`` has (name -> what declaring it unsupported turns off)."""
    return importlib.import_module(f"{__name__}.{op}").FEATURES


@dataclass(frozen=True)
class Signature:
    """``op(*operands, **geometry)`` and ``op_backward(dy, *operands, **geometry)``."""

    operands: tuple[str, ...]  # arrays; an operand named "b" may be None
    geometry: tuple[tuple[str, object], ...]  # (name, default), in positional order
    pairs: frozenset[str]  # geometry given as an int or an (h, w) pair
    gradients: tuple[str, ...]  # what the backward returns, in order
    required: frozenset[str] = frozenset()  # geometry a caller must give (its default unused)

    def backward_operands(self) -> tuple[str, ...]:
        return ("dy", *self.operands)

    def argument_names(self, function: str) -> tuple[str, ...]:
        """The names of ``function``'s positional arguments, arrays first."""
        arrays = self.backward_operands() if function.endswith("_backward") else self.operands
        return (*arrays, *(name for name, _ in self.geometry))


def op_signature(op: str) -> Signature:
    """``op``'s call as a caller writes it (its folder's ``SIGNATURE``)."""
    return importlib.import_module(f"{__name__}.{op}").SIGNATURE
