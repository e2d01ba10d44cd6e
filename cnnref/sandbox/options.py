"""The command-line options a grader sets on every run: the fences' openings and what
declarations may excuse.  ``cnnref verify`` and ``cnnref grade`` share them."""

from __future__ import annotations

import argparse
import os

from .reach import DEVICES


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "confinement and grading",
        "The candidate reads only Python, its own files and its working directory, gets a "
        "clean environment, and opens no socket and nothing in /dev/shm, unless opened here.",
    )
    for name, settings in OPTIONS:
        group.add_argument(f"--{name}", **settings)


def chosen(args: argparse.Namespace, prefix: str = "") -> dict:
    """The options as ``verify`` keyword arguments (``prefix``: of the plugin's dests)."""
    values = {
        name.replace("-", "_"): getattr(args, prefix + name.replace("-", "_"))
        for name, _ in OPTIONS
    }
    for name in ("allow_read", "pass_env", "require"):
        values[name] = tuple(values[name])
    return values


def as_arguments(options: dict) -> list[str]:
    """``chosen``'s dict back as command-line arguments."""
    arguments = []
    for path in options.get("allow_read", ()):
        arguments += ["--allow-read", path]
    for name in options.get("pass_env", ()):
        arguments += ["--pass-env", name]
    for flag in ("allow_network", "allow_shm", "strict"):
        if options.get(flag):
            arguments.append("--" + flag.replace("_", "-"))
    if options.get("device", "cpu") != "cpu":
        arguments += ["--device", options["device"]]
    if options.get("require"):
        arguments += ["--require", ",".join(options["require"])]
    return arguments


def existing_path(text: str) -> str:
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return os.path.abspath(text)


def variable_name(text: str) -> str:
    if not text or "=" in text or "\0" in text:
        raise argparse.ArgumentTypeError(
            f"expected a variable's name such as AWS_REGION; got {text!r}"
        )
    return text


def feature_list(text: str) -> tuple[str, ...]:
    """Comma-separated feature names, validated (``cnnref.declarations``)."""
    from ..declarations import canonical_features

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected feature names such as groups,stride; got {text!r}"
        )
    try:
        return tuple(sorted(canonical_features(names, where="--require")))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# The options that are the candidate process's ``Limits``; the rest are the run's.
LIMITS_OPTIONS = ("allow_read", "pass_env", "allow_network", "allow_shm", "device")
# Each option: its name after ``--`` (``--cnnref-`` in the pytest plugin) and argparse's settings.
OPTIONS: tuple[tuple[str, dict], ...] = (
    (
        "allow-read",
        {
            "action": "append",
            "type": existing_path,
            "default": [],
            "metavar": "PATH",
            "help": "let the candidate read beneath PATH too (repeatable)",
        },
    ),
    (
        "pass-env",
        {
            "action": "append",
            "type": variable_name,
            "default": [],
            "metavar": "NAME",
            "help": "pass this environment variable on to the candidate (repeatable)",
        },
    ),
    ("allow-network", {"action": "store_true", "help": "let the candidate open sockets"}),
    ("allow-shm", {"action": "store_true", "help": "let the candidate use /dev/shm"}),
    (
        "device",
        {
            "choices": DEVICES,
            "default": "cpu",
            "help": "let the candidate open this GPU's device nodes (default: cpu, none)",
        },
    ),
    (
        "strict",
        {
            "action": "store_true",
            "help": "declarations excuse nothing: every feature is drawn, PyTorch's conventions "
            "apply, and a property whose function declared something away fails",
        },
    ),
    (
        "require",
        {
            "type": feature_list,
            "default": (),
            "metavar": "FEATURES",
            "help": "comma-separated features to draw whatever the candidate declares, e.g. "
            "stride,padding,groups (a declared-away one fails its properties)",
        },
    ),
)
