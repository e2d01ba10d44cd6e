"""examples/compat, run against fakes of the libraries they adapt (tests/fake_libraries).

The fakes have the real libraries' calling conventions (pairs or ints, how dL/dY is
seeded, what each refuses) and cnnref's arithmetic, so these runs check the adapters and
the examples' glue, not the libraries: what the real ones do is in docs/adapters.md.
JAX is real (scripts/install.sh installs it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from cnnref.verify import verify
from tests.conftest import require

pytestmark = (
    pytest.mark.slow
)  # each example loads its library (JAX, PyTorch) and verifies through it

FAKES = Path(__file__).resolve().parents[1] / "fake_libraries"
PINNED = {"examples": 5, "seed": 0, "dtype": "float64"}  # as docs/adapters.md ran them

# (example:object, the functions run): the objects that pass on the real library too.
ON_FAKES = [
    ("mygrad_layers:conv_stride_1", "conv"),
    ("mygrad_layers:conv_as_declared", "conv"),
    ("mygrad_layers:pool_as_declared", "pool"),
    ("dezero_layers:conv", "conv"),
    ("dezero_layers:pool_without_padding_or_nan", "pool"),
    ("dezero_layers:pool_as_declared", "pool"),
    ("numpy_ml_layers:conv", "conv"),
    ("numpy_ml_layers:pool_without_padding_or_nan", "pool"),
    ("tinygrad_layers:layers", "conv"),
]


@pytest.fixture
def fakes(monkeypatch) -> None:
    """The fake libraries first on the path, here and in the candidate's process."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))


def _passes(target: str, ops: list[str], examples: int = PINNED["examples"]) -> None:
    result = verify(target, ops=ops, **{**PINNED, "examples": examples})
    assert result.passed, result.explain()
    ran = [p for p in result.properties if p.status == "passed"]
    assert ran, f"{target}: no property ran"


@pytest.mark.parametrize(("example", "group"), ON_FAKES)
def test_the_compat_example_passes_on_the_fake_library(fakes, example, group) -> None:
    _passes(f"examples.compat.{example}", [group])


def test_the_jax_example_conv_passes_on_jax() -> None:
    require(importlib.util.find_spec("jax") is not None, "jax (pip install 'jax[cpu]')")
    # Two examples a property: XLA compiles each new shape, and each property is then still
    # called through jax.vjp on two geometries.
    _passes("examples.compat.jax_lax_layers:layers", ["conv"], examples=2)


def test_the_hips_autograd_adapter_drives_make_vjp(fakes) -> None:
    _passes("tests.candidates.vjp_libraries:hips_layers", ["conv", "avg_pool"])


def test_the_tensorflow_adapter_drives_a_gradient_tape(fakes) -> None:
    _passes("tests.candidates.vjp_libraries:tf_layers", ["conv_transpose", "avg_pool"])
