"""One options table: ``cnnref verify`` and the pytest plugin read the same entries."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from cnnref.cli import build_parser
from cnnref.options import RUN_OPTIONS, Option, run_options
from tests.support.cli import cnnref

ROOT = Path(__file__).resolve().parents[2]


def verify_parser() -> argparse.ArgumentParser:
    return build_parser(["verify"])._subparsers._group_actions[0].choices["verify"]


def test_every_run_option_is_a_cli_option_with_the_tables_default() -> None:
    parsed = vars(verify_parser().parse_args([]))
    for option in RUN_OPTIONS:
        assert parsed[option.key] == option.default, option.name
    assert set(run_options(parsed)) == {option.key for option in RUN_OPTIONS}


@pytest.mark.slow
def test_the_plugin_offers_each_plugin_option_and_its_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    for option in RUN_OPTIONS:
        flag = f"--cnnref-{option.name}"
        if option.plugin:
            assert flag in text and f"cnnref_{option.key} " in text, option.name
        else:
            assert flag not in text, option.name


@pytest.mark.slow
def test_an_ini_value_reads_as_the_command_line_reads_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncnnref_memory = 1G\ncnnref_timeout = 2.5\n")
    pytester.makeconftest(
        "from cnnref.pytest_plugin import run_settings\n"
        "def pytest_configure(config):\n"
        "    settings = run_settings(config)\n"
        "    print('memory', settings['memory'], 'timeout', settings['timeout'])\n"
    )
    result = pytester.runpytest_subprocess("--cnnref-timeout", "4", "--co", "-q", "-s")
    result.stdout.fnmatch_lines([f"memory {1 << 30} timeout 4.0"])


def test_adding_an_option_is_one_entry() -> None:
    extra = Option("deadline", "seconds (default: %(default)s)", {"type": float, "default": 1.0})
    parser = argparse.ArgumentParser()
    extra.add_to_cli(parser)
    assert parser.parse_args(["--deadline", "2"]).deadline == 2.0
    assert extra.parse("3") == 3.0
    with pytest.raises(ValueError):
        Option("dtype", "", {"choices": ("a", "b")}).parse("c")


def test_cnnref_version_loads_no_command() -> None:
    code = (
        "import sys\n"
        "from cnnref.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('cnnref.verify', 'cnnref.train', 'hypothesis', 'numpy'))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout


def test_an_unknown_property_is_a_usage_error_naming_it() -> None:
    run = cnnref("verify", "--property", "conv2d.nope")
    assert run.returncode == 2
    assert "unknown property 'conv2d.nope'" in run.stderr and "Traceback" not in run.stderr
