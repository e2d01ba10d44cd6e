"""Every bug catalogue, run as a user runs it: cnnref verify catches each planted bug at the
property pinned to catch it, and names it there.

Each bug's default run checks every property of the function it breaks (or of its op), in
order, default examples, seed 0, stopping at the first failure (``--ops FUNCTION -x``).  That
run must fail first at the pinned property; its explanation must name the bug, every hint
that fired must describe it (a hint that fires on a bug it does not describe is a defect), and
its reproduction must name the candidate and the property.  The catalogues' tables, and the
tests only one catalogue has, are in their own modules beside this one.
"""

from __future__ import annotations

import pytest

from cnnref.checks import PROPERTIES
from tests.checks import (
    test_adaptive_pool2d_catalogue,
    test_avg_pool2d_catalogue,
    test_conv_transpose2d_catalogue,
    test_verify_catalogue,
)
from tests.support.catalogue import NEUTRAL, Catalogue, default_run, failed_first_at

pytestmark = pytest.mark.slow  # a whole verification per catalogued bug

CATALOGUES = (
    test_verify_catalogue.CATALOGUE,
    test_conv_transpose2d_catalogue.CATALOGUE,
    test_avg_pool2d_catalogue.CATALOGUE,
    test_adaptive_pool2d_catalogue.CATALOGUE,
)
EACH_BUG = [pytest.param(c, bug, id=f"{c.name}:{bug}") for c in CATALOGUES for bug in c.bugs]


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda c: c.name)
def test_every_bug_is_pinned_to_a_property(catalogue: Catalogue) -> None:
    assert set(catalogue.caught) == set(catalogue.bugs)
    names = {prop.name for prop in PROPERTIES}
    for bug, (prop, phrases) in catalogue.caught.items():
        assert prop in names, f"{catalogue.name}: {bug} is pinned to {prop}"
        assert phrases, f"{catalogue.name}: nothing would name {bug}"


@pytest.mark.parametrize(("catalogue", "bug"), EACH_BUG)
def test_a_default_run_fails_first_at_the_pinned_property_and_names_the_bug(
    catalogue: Catalogue, bug: str
) -> None:
    prop, phrases = catalogue.caught[bug]
    what = f"{bug} ({catalogue.bugs[bug]})"
    outcome = failed_first_at(default_run(catalogue, bug), prop, what)
    failure, text = outcome.failure, outcome.explain()
    assert failure.case.startswith(catalogue.cases), text
    if catalogue.falsified:
        assert failure.kind == "falsified", text
    named = failure.hints if catalogue.named_by_a_hint else [text]
    assert any(phrase in place for place in named for phrase in phrases), (
        f"{bug}: expected one of {phrases} in\n{text}"
    )
    for hint in failure.hints:
        assert any(phrase in hint for phrase in (*phrases, *NEUTRAL)), (
            f"{what} got a hint that describes another bug: {hint!r}\n{text}"
        )
    assert failure.reproduce_command.startswith(
        f"cnnref verify --impl {catalogue.module}:{bug} --property {prop}"
    )
