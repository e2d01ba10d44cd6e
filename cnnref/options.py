"""The options of a verification run, declared once for ``cnnref verify`` and the pytest plugin.

Each ``Option`` is one entry: ``cnnref verify`` adds it as ``--<name>``, the
plugin as ``--cnnref-<name>`` with an ini key ``cnnref_<dest>``, both with the
same type, choices, default and help.  Adding an option is adding its entry
here (and reading it where the run is made).  The table imports nothing heavy,
so that building a parser stays quick.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any

from .cli import cpu_seconds, memory_size, module_list, positive_float, positive_int
from .ops import FUNCTIONS, GROUPS
from .ops.threads import free_cores
from .sandbox.process import DEFAULT_CPU_SECONDS, DEFAULT_MEMORY, DEFAULT_TIMEOUT

DEFAULT_CANDIDATE = "cnnref"
DEFAULT_EXAMPLES = 100
PLUGIN_PREFIX = "cnnref"


@dataclass(frozen=True)
class Option:
    """One option: its long name, what argparse needs to read it, and whether the plugin has it."""

    name: str  # the long flag without dashes: --<name>, and --cnnref-<name> in pytest
    help: str  # may use %(default)s
    settings: dict[str, Any] = field(default_factory=dict)  # argparse's: type, default, ...
    dest: str | None = None
    short: str | None = None  # a one-letter flag, for the CLI only (pytest has its own -x)
    plugin: bool = True

    @property
    def key(self) -> str:
        """The attribute the parsed value is stored under."""
        return self.dest or self.name.replace("-", "_")

    @property
    def default(self) -> Any:
        return self.settings.get("default", False if self.is_flag else None)

    @property
    def is_flag(self) -> bool:
        return self.settings.get("action") == "store_true"

    def add_to_cli(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        flags = [*([self.short] if self.short else []), f"--{self.name}"]
        parser.add_argument(*flags, dest=self.key, help=self.help, **self.settings)

    def add_to_pytest(self, group: Any, parser: Any) -> None:
        """``--cnnref-<name>`` and the ini key ``cnnref_<dest>``; unset (None) reads the ini."""
        settings = self.settings | {"default": None}
        help_text = self.help % {"default": self.default}
        group.addoption(
            f"--{PLUGIN_PREFIX}-{self.name}",
            dest=f"{PLUGIN_PREFIX}_{self.key}",
            help=help_text,
            **settings,
        )
        parser.addini(f"{PLUGIN_PREFIX}_{self.key}", help_text, default="")

    def from_pytest(self, config: Any) -> Any:
        """The value the pytest command line gave, else the ini file's, else the default.

        ValueError naming the ini key when the ini file's value breaks the option's rule.
        """
        given = config.getoption(f"{PLUGIN_PREFIX}_{self.key}")
        if given is not None:
            return given
        text = str(config.getini(f"{PLUGIN_PREFIX}_{self.key}")).strip()
        if not text:
            return self.default
        try:
            return self.parse(text)
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise ValueError(f"{PLUGIN_PREFIX}_{self.key} = {text} (ini file): {error}") from None

    def parse(self, text: str) -> Any:
        """``text`` read as the command line reads this option's value."""
        if self.is_flag:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError("expected true or false")
            return text.lower() in ("true", "1", "yes")
        value = self.settings.get("type", str)(text)
        choices = self.settings.get("choices")
        if choices is not None and value not in choices:
            raise ValueError(f"choose from {', '.join(map(str, choices))}")
        return value


# The options of a run, in the order --help lists them.  The candidate (--impl,
# --command), the selection (--ops, --property) and the report files are named
# differently by the CLI and the plugin, so each declares its own.
RUN_OPTIONS: tuple[Option, ...] = (
    Option(
        "examples",
        "examples per property (default: %(default)s)",
        {"type": positive_int, "default": DEFAULT_EXAMPLES, "metavar": "N"},
    ),
    Option(
        "seed",
        "seed for a reproducible run (default: derandomized under CI=true, otherwise random "
        "with the example database in .hypothesis/cnnref/)",
        {"type": int, "metavar": "S"},
    ),
    Option(
        "dtype",
        "pin the dtype of the inputs (default: all four, drawn per example, but those the "
        "candidate declares unsupported)",
        {"choices": ("float64", "float32", "float16", "bfloat16")},
    ),
    Option(
        "timeout",
        "seconds one candidate call may take (default: %(default)g)",
        {"type": positive_float, "default": DEFAULT_TIMEOUT, "metavar": "S"},
    ),
    Option(
        "memory",
        "address space the candidate's process may use, e.g. 2G or 512M, or 'none' "
        f"(default: {DEFAULT_MEMORY >> 30}G)",
        {"type": memory_size, "default": DEFAULT_MEMORY, "metavar": "SIZE"},
    ),
    Option(
        "cpu-time",
        "CPU seconds the candidate's process may use in all, or 'none' (default: none; "
        "--timeout bounds each call)",
        {"type": cpu_seconds, "default": DEFAULT_CPU_SECONDS, "metavar": "S"},
        dest="cpu_seconds",
    ),
    Option(
        "forbid",
        "comma-separated modules the candidate may not import, e.g. torch,jax,scipy,cnnref "
        "(a fence against shortcuts, not a boundary against native code)",
        {"type": module_list, "default": (), "metavar": "MODULES"},
    ),
    Option(
        "jobs",
        "properties checked at once, each worker with its own candidate process (default: "
        "the free cores, those this process may use less the load average; 1 inside a "
        "pytest-xdist worker)",
        {"type": positive_int, "metavar": "N"},
        short="-j",
        plugin=False,  # the plugin runs one property per test item: xdist spreads them
    ),
    Option(
        "exitfirst",
        "stop at the first failed property",
        {"action": "store_true"},
        short="-x",
        plugin=False,  # pytest's own -x
    ),
    Option(
        "ff",
        "check the properties that failed in the last run first (their saved failing "
        "examples are replayed first in any case)",
        {"action": "store_true"},
        dest="failed_first",
        plugin=False,  # pytest's own --ff
    ),
    Option(
        "lf",
        "check only the properties that failed in the last run (all of them when none did)",
        {"action": "store_true"},
        dest="last_failed",
        plugin=False,  # pytest's own --lf
    ),
)

# The selection, for the CLI (the plugin makes one test item per property instead).
SELECTION_OPTIONS: tuple[Option, ...] = (
    Option(
        "ops",
        f"functions to check: {', '.join(FUNCTIONS)}, or an op's group, "
        f"{' / '.join(GROUPS)} (default: all it exposes)",
        {"nargs": "+", "choices": [*FUNCTIONS, *GROUPS], "metavar": "OP"},
        plugin=False,
    ),
    Option(
        "property",
        "check only this property (repeatable); see --list",
        {"action": "append", "metavar": "NAME"},
        dest="properties",
        plugin=False,
    ),
)


def run_options(values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``verify`` that the run options' parsed ``values`` give."""
    return {option.key: values[option.key] for option in RUN_OPTIONS if option.key in values}


def default_jobs() -> int:
    """Workers of a run that does not say: one inside a pytest-xdist worker (xdist already
    spreads the session over the cores), else the free cores."""
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else free_cores()
