"""cnnref's own reference against every property it checks others with, in float64 and float32."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnref.oracles.torch_autograd import torch_available
from cnnref.properties import PROPERTIES, Property
from cnnref.verify.candidate import LoadedCandidate
from cnnref.verify.evaluate import evaluate

pytestmark = (
    pytest.mark.slow
)  # the reference's own Hypothesis suite, every property at full strength

REFERENCE = LoadedCandidate.load("cnnref")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda prop: prop.name)
def test_reference_has_property(prop: Property, dtype: str) -> None:
    if prop.needs_torch and not torch_available():
        pytest.fail("torch is needed for this property: pip install -e '.[test]'")

    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(prop.cases(dtype, frozenset()), label=f"{prop.function} case")
        outcome = evaluate(prop, REFERENCE, case)
        hints = "".join(f"\n  - {hint}" for hint in outcome.hints)
        assert outcome.passed, f"{prop.name} ({outcome.kind}):\n{outcome.message}{hints}"

    check()
