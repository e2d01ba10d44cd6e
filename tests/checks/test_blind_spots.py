"""The two blind spots of issue 24: the forward trusted only at the example's own point, and
calls that depend on earlier calls."""

from __future__ import annotations

import pytest
from cnnref.properties.base import Evidence, NotChecked

from cnnref.properties import property_named
from cnnref.strategies import PoolCase
from cnnref.verify.candidate import LoadedCandidate
from tests.candidates import blind_spots


def _loaded(name: str) -> LoadedCandidate:
    return LoadedCandidate.from_object(name, getattr(blind_spots, name))


def test_a_forward_that_deviates_a_step_away_is_not_blamed_on_the_backward() -> None:
    """x = 0 alone, kernel 2, padding 1: zero padding agrees at x, not at x - h."""
    case = PoolCase(
        batch=1, channels=1, height=1, width=1, kernel_size=(2, 2), padding=(1, 1),
        values="distinct", seed=0,
    )  # fmt: skip
    assert case.arrays().x.ravel().tolist() == [0.0], "the example must sit at 0"
    candidate = _loaded("zero_padded_forward_only")
    prop = property_named("max_pool2d_backward.finite_differences")
    with pytest.raises(NotChecked, match="the forward deviates next to this example"):
        prop.check(candidate, case, Evidence())
    # The forward is right at the example itself, and so is the backward.
    property_named("max_pool2d.matches_reference").check(candidate, case, Evidence())
    property_named("max_pool2d_backward.matches_reference").check(candidate, case, Evidence())
