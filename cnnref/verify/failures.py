"""A failure, written here only: its record (``Failure``), the inputs it shows, what
shrinking could not remove, and how to reproduce it.

The runner builds a property's ``Failure`` with ``failure_of``; ``check_example``
explains one example's failure with ``example_failed``; ``PropertyResult.explain``
lays a ``Failure`` out for a person.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, cast

from ..checks import Property
from ..checks.compare import describe_inputs
from ..results import Failure
from ..sandbox.process import DEFAULT_TIMEOUT
from ..sandbox.target import Command
from ..strategies.cases import Case

if TYPE_CHECKING:
    from .evaluate import Outcome
    from .runner import RunSettings

# The note a search of small examples adds when it found no smaller failure: only then may a
# failure say that the bug needs the size it was found at.
NO_SMALLER = "a search of small examples, after shrinking, found no smaller failure"

# What a Flaky stop means, before the first failure's own message.
FLAKY = (
    "the failure did not happen again when the same example was re-run: the candidate "
    "gives different results for the same inputs (nondeterminism, state kept between "
    "calls, or a time limit hit only sometimes)"
)


def example_failed(prop: Property, case: Case, outcome: Outcome) -> str:
    """``check_example``'s explanation of one failing example."""
    hints = "".join(f"\n  - {hint}" for hint in outcome.hints)
    message = with_inputs(outcome.message, case, prop)
    return f"{prop.name} ({outcome.kind}) on {case!r}\n{message}{hints}"


def input_elements(case: Case) -> int:
    """How many elements a case's input arrays hold together: how big the example is."""
    return sum(array.size for array in case.arrays() if array is not None)


def with_inputs(message: str, case: Case | None, prop: Property) -> str:
    """``message`` and the case's arrays, when they are small enough to read and not shown yet."""
    if case is None or re.search(r"^inputs:$", message, re.MULTILINE):
        return message
    arrays = case.arrays()._asdict()
    if not prop.function.endswith("_backward"):
        arrays.pop("dy")  # a forward is not given dy
    shown = describe_inputs(arrays)
    return f"{message}\n{shown}" if shown else message


def failure_of(
    case: Case | None,
    outcome: Outcome,
    prop: Property,
    target: str | Command,
    run: RunSettings,
    notes: Sequence[str] = (),
) -> Failure:
    """The record of a failure: what went wrong on ``case``, the hints and notes, and how to
    reproduce it (the ``cnnref verify`` command and the ``check_example`` call)."""
    needed = still_needed(case, sizes_searched=NO_SMALLER in notes) if case is not None else ""
    hints = list(outcome.hints) + list(notes) + ([needed] if needed else [])
    named = (
        f"--command {shlex.quote(str(target))}"
        if isinstance(target, Command)
        else f"--impl {target}"
    )
    command = f"cnnref verify {named} --property {prop.name} --examples {run.examples}"
    if run.dtype is not None:
        command += f" --dtype {run.dtype}"
    if run.timeout != DEFAULT_TIMEOUT:
        command += f" --timeout {run.timeout:g}"
    if run.seed is not None:
        command += f" --seed {run.seed}"
    command += "".join(f" {option}" for option in run.process_options)
    snippet = "\n".join(
        [
            "# or, in Python (raises AssertionError with this explanation):",
            f"from cnnref.strategies import {type(case).__name__}" if case is not None else "",
            "from cnnref.verify import "
            + ("Command, check_example" if isinstance(target, Command) else "check_example"),
            f"check_example({target!r}, {prop.name!r}, {case!r})",
        ]
    )
    return Failure(
        kind=outcome.kind,
        case=repr(case),
        case_fields=asdict(cast(Any, case)) if case is not None else {},
        message=with_inputs(outcome.message, case, prop),
        hints=hints,
        worst=outcome.worst,
        reproduce_command=command,
        reproduce_snippet=snippet,
        function=outcome.function,
    )


def _as_written(value: object) -> object:
    """A square pair as PyTorch's signatures write it: (1, 1) -> 1."""
    return value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value


def still_needed(case: Case, *, sizes_searched: bool = False) -> str:
    """What the smallest failing example could not shrink away: where the bug must be.

    Settings (stride, padding, groups, a layout, ...) that survived shrinking are needed.
    Sizes are only what the search reached: a size may be needed itself (more than 255
    positions, a batch over 32) or only make something else likely (two NaNs in one window),
    so they are reported as such, not as the bug's cause, and only where smaller examples
    were searched and none failed (``sizes_searched``).
    """
    sizes = case.sizes_reached()
    needs = case.settings_needed()
    if case.layout != "contiguous":
        needs.append(f"layout={case.layout!r}")
    if case.dtype != "float64":
        needs.append(f"dtype={case.dtype!r}")
    if case.dy_values != "finite":
        needs.append("NaN and inf in dy")
    needs += [f"{name} passed as a plain int" for name in case.as_int]
    needs += [f"{name} left out" for name in case.omitted]
    lines = []
    if needs:
        lines.append(
            f"Hypothesis could not shrink away {', '.join(needs)}: the bug needs "
            f"{'it' if len(needs) == 1 else 'them'}"
        )
    if sizes and sizes_searched:
        lines.append(
            f"no smaller example failed than {', '.join(sizes)}: the bug needs that size, or "
            "something an example that size makes likely"
        )
    text = "; ".join(lines)
    if case.omitted:
        text += (
            ". Left out, an argument takes the function's own default; PyTorch's are "
            + ", ".join(f"{name}={_as_written(value)!r}" for name, value in case.DEFAULTS.items())
        )
    if case.as_int:
        text += (
            ". A plain int stands for the same value along height and width, as in PyTorch: "
            "make it a pair (v, v) before using it"
        )
    if case.layout != "contiguous":
        text += (
            ". It fails only for a non-contiguous input: something assumes C-contiguous memory "
            "(strides computed from the shape, a raw buffer, or reshape where a view is needed)"
        )
    return text
