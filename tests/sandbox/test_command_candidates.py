"""Candidates in other languages: programs that speak docs/protocol.md, verified through it.

The two example clients (examples/c, examples/rust) are built here and must pass; the C one
built with a planted bug must fail the property that bug breaks; commands that cannot serve
give one clear line; a program that misbehaves mid-call fails that property, as a Python
candidate would.  Under CI=true a missing compiler or cargo fails these tests.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnref.cli import build_parser
from cnnref.strategies import ConvCase
from cnnref.verify import CandidateLoadError, Command, check_example, select_properties, verify
from cnnref.verify.candidate import PROTOCOL_SPELLING, IsolatedCandidate
from tests.conftest import require
from tests.sandbox.test_integrity import processes_tagged

pytestmark = pytest.mark.slow  # compiles the C and Rust clients and verifies them

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTED = [sys.executable, str(ROOT / "tests" / "candidates" / "scripted_client.py")]
# The ops the example clients (examples/c, examples/rust) serve.
CLIENT_OPS = ["conv", "pool"]
CLIENT_PROPERTIES = select_properties(CLIENT_OPS)


def c_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def cargo() -> str | None:
    """cargo on PATH, or where rustup puts it."""
    home_cargo = Path.home() / ".cargo" / "bin" / "cargo"
    return shutil.which("cargo") or (str(home_cargo) if home_cargo.is_file() else None)


def build_c(out_dir: Path, *flags: str) -> Path:
    compiler = c_compiler()
    require(compiler is not None, "a C compiler (cc; apt-get install gcc)")
    binary = out_dir / "conv_server"
    source = EXAMPLES / "c" / "conv_server.c"
    command = [compiler, "-O2", "-std=c99", *flags, "-o", str(binary)]
    subprocess.run([*command, str(source), "-lm"], check=True, timeout=120)
    return binary


@pytest.fixture(scope="module")
def c_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_c(tmp_path_factory.mktemp("c"))


@pytest.fixture(scope="module")
def rust_server() -> Path:
    found = cargo()
    require(found is not None, "cargo (apt-get install cargo, or rustup)")
    # build/ is ignored by git; a second run only checks that nothing changed.
    target = ROOT / "build" / "examples-rust"
    manifest = EXAMPLES / "rust" / "Cargo.toml"
    build = [found, "build", "--release", "--offline", "--quiet", "--target-dir", str(target)]
    subprocess.run([*build, "--manifest-path", str(manifest)], check=True, timeout=600)
    return target / "release" / "conv_server"


def statuses(result) -> dict[str, str]:
    return {p.name: p.status for p in result.properties}


def test_the_c_client_passes_every_property(c_server: Path) -> None:
    result = verify(Command(str(c_server)), examples=6, seed=0, ops=CLIENT_OPS)
    assert statuses(result) == {p.name: "passed" for p in CLIENT_PROPERTIES}, result.explain()
    assert result.candidate == str(c_server)
    assert result.settings["unsupported"] == sorted(PROTOCOL_SPELLING)
    assert any("private working directory" in fence for fence in result.settings["fences"])


def assert_speaks(command: Command, dtype: str) -> None:
    """Its sums run in double and round once to the format: within cnnref's half bound."""
    result = verify(command, examples=10, seed=1, dtype=dtype, ops=CLIENT_OPS)
    judged = {p.name: p.status for p in result.properties if p.status != "not covered"}
    assert result.passed, result.explain()
    assert dtype not in result.settings["unsupported"]
    assert {"conv2d.matches_reference", "conv2d_backward.matches_reference"} <= set(judged)
    assert {"max_pool2d.matches_reference", "max_pool2d_backward.matches_reference"} <= set(judged)
    assert set(judged.values()) == {"passed"}, judged


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_c_client_speaks_the_half_formats(c_server: Path, dtype: str) -> None:
    assert_speaks(Command(str(c_server)), dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_rust_client_speaks_the_half_formats(rust_server: Path, dtype: str) -> None:
    assert_speaks(Command([str(rust_server)]), dtype)


def test_the_rust_clients_half_conversions_round_trip_every_bit_pattern() -> None:
    """examples/rust/src/half.rs's own tests: all 65,536 patterns of each format, and
    rounding to nearest even, ties, subnormals and overflow."""
    found = cargo()
    require(found is not None, "cargo (apt-get install cargo, or rustup)")
    target = ROOT / "build" / "examples-rust"
    manifest = EXAMPLES / "rust" / "Cargo.toml"
    test = [found, "test", "--release", "--offline", "--quiet", "--target-dir", str(target)]
    ran = subprocess.run(
        [*test, "--manifest-path", str(manifest), "half::"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "test result: ok. 2 passed" in ran.stdout, ran.stdout


def test_the_rust_client_passes_every_property_in_float32(rust_server: Path) -> None:
    result = verify(
        Command([str(rust_server)]), examples=6, seed=1, dtype="float32", ops=CLIENT_OPS
    )
    assert statuses(result) == {p.name: "passed" for p in CLIENT_PROPERTIES}, result.explain()


def cli(*args: str) -> tuple[int, str, str]:
    """``cnnref verify ARGS`` in this process: exit code, stdout, stderr."""
    parsed = build_parser().parse_args(["verify", *args])
    out, err = io.StringIO(), io.StringIO()
    return parsed.run(parsed, out, err), out.getvalue(), err.getvalue()


def test_a_planted_tie_bug_in_the_c_client_fails_with_its_property_named(
    tmp_path: Path,
) -> None:
    buggy = build_c(tmp_path, "-DPLANT_BUG_TIES_TO_LAST")
    code, out, _ = cli(
        "--command",
        str(buggy),
        "--property",
        "max_pool2d_backward.matches_reference",
        "--property",
        "max_pool2d.matches_reference",
        "--examples",
        "50",
        "--seed",
        "0",
    )
    assert code == 1, out
    assert "FAILED max_pool2d_backward.matches_reference" in out
    assert "FIRST maximum" in out  # the explanation names the tie rule
    assert f"cnnref verify --command {buggy} --property max_pool2d_backward" in out
    assert "check_example(Command(" in out
    # The forward still returns the right values: only the routing is wrong.
    assert "max_pool2d.matches_reference                   passed" in out


def not_executable(tmp_path: Path) -> str:
    script = tmp_path / "server.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    return str(script)


def not_a_program(tmp_path: Path) -> str:
    """Executable, but neither a binary nor a script with #!: exec itself fails."""
    text = tmp_path / "notes.txt"
    text.write_text("conv2d notes\n")
    text.chmod(0o755)
    return str(text)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (lambda tmp: "./no-such-server", "program './no-such-server' not found (looked for"),
        (
            lambda tmp: "no-such-server-anywhere",
            "program 'no-such-server-anywhere' not found on PATH",
        ),
        (not_executable, "is not an executable file (chmod +x, or build it)"),
        (not_a_program, "notes.txt: Exec format error"),
        (lambda tmp: "false", "failed (it ended before it answered 'ready': exit code 1;"),
        (
            lambda tmp: "sh -c 'echo this is not a frame; sleep 30'",
            "its reply is not a frame of the protocol: a frame must start with b'CNNR'",
        ),
        (lambda tmp: "", "--command '': a command candidate needs a program to run"),
        (lambda tmp: "'./unbalanced", "No closing quotation"),
    ],
)
def test_a_command_that_cannot_serve_is_one_clear_line(command, message, tmp_path: Path) -> None:
    code, out, err = cli("--command", command(tmp_path), "--examples", "1")
    assert code == 2, out + err
    assert message in err and err.startswith("cnnref verify: error: "), err
    assert "Traceback" not in err


def test_forbid_is_for_python_candidates_only(c_server: Path) -> None:
    code, _, err = cli("--command", str(c_server), "--forbid", "torch")
    assert code == 2
    assert "forbidding imports (--forbid) applies to Python candidates only" in err


def test_impl_and_command_are_exclusive(c_server: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("--impl", "tests.candidates.limited", "--command", str(c_server))
    assert exit_info.value.code == 2


def test_a_command_cannot_run_in_process(c_server: Path) -> None:
    with pytest.raises(ValueError, match="isolate=False is for Python candidates"):
        verify(Command(str(c_server)), isolate=False)


@pytest.mark.parametrize(
    ("mode", "kind", "message"),
    [
        (
            "garbage",
            "unreadable",
            "conv2d returned something cnnref cannot read: a frame must start",
        ),
        ("exit", "crashed", "the process running the candidate died (exit code 3)"),
        ("hang", "hung", "conv2d did not return within 1 s"),
        ("wrong-id", "unreadable", "a reply to call"),
    ],
)
def test_a_client_that_misbehaves_mid_call_fails_the_property(
    mode: str, kind: str, message: str
) -> None:
    result = verify(
        Command([*SCRIPTED, mode]),
        properties=["conv2d.matches_reference"],
        examples=3,
        seed=0,
        timeout=1,
    )
    (prop,) = result.properties
    assert prop.status == "failed"
    assert prop.failure.kind == kind
    assert message in prop.failure.message, prop.failure.message
    if mode == "exit":  # its stderr is shown
        assert "serving conv2d in mode exit" in prop.failure.message


def test_a_raised_error_fails_the_example_with_its_message() -> None:
    case = ConvCase(batch=1, in_channels=1, out_channels=1, height=3, width=3, kernel_size=(2, 2))
    with pytest.raises(AssertionError, match="this client refuses every call") as raised:
        check_example(Command([*SCRIPTED, "raise"]), "conv2d.matches_reference", case)
    assert "conv2d raised ValueError" in str(raised.value)


def test_the_handshake_declares_functions_and_unsupported_features() -> None:
    candidate = IsolatedCandidate("partial", command=Command([*SCRIPTED, "partial"])).start()
    try:
        assert candidate.functions == ("max_pool2d",)
        # What it declared, and the spellings the protocol never sends (ints, omitted arguments).
        assert candidate.unsupported == {"groups", *PROTOCOL_SPELLING}
    finally:
        candidate.close()
    result = verify(Command([*SCRIPTED, "partial"]), properties=["conv2d.matches_reference"])
    assert statuses(result) == {"conv2d.matches_reference": "not covered"}
    assert result.settings["unsupported"] == sorted({"groups", *PROTOCOL_SPELLING})


def test_an_ended_program_leaves_no_process_behind(c_server: Path) -> None:
    verify(Command(str(c_server)), properties=["conv2d.contract"], examples=2, seed=0)
    assert processes_tagged(str(c_server)) == []


def test_a_load_error_from_the_program_is_its_message(tmp_path: Path) -> None:
    script = tmp_path / "no_device.py"
    script.write_text(
        "import json, struct, sys\n"
        'text = json.dumps({"op": "load-error", "message": "no GPU here", "values": {}, '
        '"buffers": []}).encode()\n'
        'sys.stdout.buffer.write(b"CNNR" + struct.pack("<I", len(text)) + text)\n'
    )
    with pytest.raises(CandidateLoadError, match=r"^no GPU here$"):
        verify(Command([sys.executable, str(script)]), examples=1)


def test_the_pytest_plugin_takes_a_command(
    pytester_in_process: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, c_server: Path
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester_in_process.runpytest_inprocess(
        "--cnnref-command", str(c_server), "--cnnref-examples", "2", "-k", "contract", "-q"
    )
    contracts = [p for p in select_properties() if p.name.endswith(".contract")]
    served = [p for p in contracts if p in CLIENT_PROPERTIES]
    result.assert_outcomes(passed=len(served), skipped=len(contracts) - len(served))
