"""The pytest plugin loads in every pytest session of an environment with cnnref installed:
it must leave the verifier unloaded until a session asks for cnnref."""

from __future__ import annotations

import subprocess
import sys

# What a session that never names cnnref must not pay for.
HEAVY = ("hypothesis", "torch", "cnnref.verify", "cnnref.checks", "cnnref.reference")


def test_the_plugin_loads_without_the_verifier() -> None:
    shown = f"import sys, cnnref.pytest_plugin; print(*[m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", shown], capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.split() == [], f"the plugin loaded {loaded.stdout.split()}"
