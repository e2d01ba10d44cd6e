"""The ``cnnref`` command line: one sub-command per job, each defined beside its code."""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cnnref

# Each sub-command and the module that defines it: ``register(subparsers)`` adds its
# sub-commands and sets ``run`` (namespace -> exit code) as the parser default.  Only the
# module of the command being run is imported.
COMMANDS: dict[str, str] = {
    "verify": "cnnref.verify.cli",
    "grade": "cnnref.grade.cli",
    "train": "cnnref.train.cli",
    "evaluate": "cnnref.train.cli",
    "vectors": "cnnref.vectors.cli",
}

EXIT_USAGE = 2


def positive(number: Callable[[str], float], what: str) -> Callable[[str], float]:
    """An argparse type: ``number(text)``, which must be > 0 and finite."""

    def parse(text: str) -> float:
        try:
            value = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
        if not 0 < value < math.inf:
            raise argparse.ArgumentTypeError(f"must be > 0 and finite; got {text}")
        return value

    return parse


positive_int = positive(int, "a whole number")
positive_float = positive(float, "a number")


def memory_size(text: str) -> int | None:
    """An argparse type: a size such as 4G, 512M or 1073741824 (bytes), or 'none'."""
    if text.lower() == "none":
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    number, unit = (text[:-1], units[text[-1].lower()]) if text[-1:].lower() in units else (text, 1)
    try:
        size = int(float(number) * unit)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 4G or 512M; got {text!r}"
        ) from None
    if size < 256 << 20:
        raise argparse.ArgumentTypeError(
            f"must be at least 256M (NumPy alone needs that); got {text}"
        )
    return size


def cpu_seconds(text: str) -> int | None:
    """An argparse type: a whole number of seconds > 0, or 'none'."""
    return None if text.lower() == "none" else int(positive_int(text))


def module_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated module names."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    bad = [name for name in names if not all(part.isidentifier() for part in name.split("."))]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected module names such as torch,scipy; got {text!r}")
    return names


def unwritable(path: Path) -> str | None:
    """Why a run could not write a file at ``path`` (None when it can), checked before it starts."""
    folder = path.parent
    if path.is_dir():
        return f"{path} is a directory; give a file name"
    if not folder.is_dir():
        return f"directory {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"directory {folder} is not writable"
    return None


# The report formats, named by the file's suffix: the CLI's --json/--report/--junit each take
# one, the plugin's --cnnref-report any.
REPORT_SUFFIXES = (".json", ".html", ".xml")


def report_problem(path: Path, suffixes: Sequence[str] = REPORT_SUFFIXES) -> str | None:
    """Why a report could not be written at ``path`` (None when it can): its folder, or a file
    name that does not end in one of ``suffixes`` (the report's format)."""
    problem = unwritable(path)
    if problem is None and path.suffix not in suffixes:
        endings = (
            ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]
        )
        problem = f"the file name must end in {endings}"
    return problem


def report_file(suffix: str) -> Callable[[str], Path]:
    """An argparse type: a report file ending in ``suffix``, in an existing, writable directory."""

    def parse(text: str) -> Path:
        problem = report_problem(Path(text), (suffix,))
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return Path(text)

    return parse


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the sub-commands ``argv`` needs (every one when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        prog="cnnref",
        description="Verify 2-D convolution and pooling implementations against cnnref's reference.",
    )
    parser.add_argument("--version", action="version", version=f"cnnref {cnnref.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in dict.fromkeys(_modules_needed(argv)):
        importlib.import_module(module).register(subparsers)
    return parser


def _modules_needed(argv: Sequence[str] | None) -> list[str]:
    """The command's module; none for ``--version``; all to list them (help, a bad name)."""
    if argv is None:
        return list(COMMANDS.values())
    words = [word for word in argv if not word.startswith("-")]
    if words and words[0] in COMMANDS:
        return [COMMANDS[words[0]]]
    if not words and argv and not {"-h", "--help"} & set(argv):
        return []
    return list(COMMANDS.values())


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
