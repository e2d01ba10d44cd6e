"""cnnref's own reference against every property it checks others with, in every dtype a default
run draws (float64, float32, float16 and bfloat16, one per example)."""

from __future__ import annotations

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from cnnref.oracles.torch_autograd import torch_available
from cnnref.precision import is_half
from cnnref.properties import PROPERTIES, Property
from cnnref.results import Kind
from cnnref.verify.candidate import LoadedCandidate
from cnnref.verify.evaluate import evaluate

pytestmark = (
    pytest.mark.slow
)  # the reference's own Hypothesis suite, every property at full strength

REFERENCE = LoadedCandidate.load("cnnref")


@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda prop: prop.name)
def test_reference_has_property(prop: Property) -> None:
    if prop.needs_torch and not torch_available():
        pytest.fail("torch is needed for this property: pip install -e '.[test]'")

    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        # dtype None: each example's dtype drawn from all four, as in a default run.
        case = data.draw(prop.cases(None, frozenset()), label=f"{prop.function} case")
        outcome = evaluate(prop, REFERENCE, case)
        if outcome.kind == Kind.NOT_CHECKED and is_half(case.dtype):
            reject()  # a property that compares rounded half results: another example instead
        hints = "".join(f"\n  - {hint}" for hint in outcome.hints)
        assert outcome.passed, f"{prop.name} ({outcome.kind}):\n{outcome.message}{hints}"

    check()
