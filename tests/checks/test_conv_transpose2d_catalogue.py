"""conv_transpose2d's bug catalogue (tests/candidates/conv_transpose2d_student.py): where
each bug is pinned, and what only this catalogue checks (the weight layout's hint, the
student as written).

Each bug's default run of its function, and the checks every catalogue shares, are in
test_catalogues.py; the candidate runs in this process (``isolate=False``, for speed; the
conv2d and max_pool2d catalogue covers isolation).
"""

from __future__ import annotations

import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops.conv_transpose2d import hints
from cnnref.strategies import ConvTransposeCase
from cnnref.verify import check_example, select_properties, verify
from tests.candidates.conv_transpose2d_student import BUGS
from tests.support.catalogue import Catalogue

pytestmark = pytest.mark.slow  # a whole verification per catalogued bug

STUDENT = "tests.candidates.conv_transpose2d_student"

# bug -> (the property pinned to catch it, the hint that names it).
CAUGHT = {
    "weight_layout_out_in": ("conv_transpose2d.matches_reference", hints.WEIGHT_LAYOUT),
    "kernel_not_rotated": ("conv_transpose2d.matches_reference", hints.KERNEL_NOT_ROTATED),
    "output_padding_as_zeros": (
        "conv_transpose2d.matches_reference",
        hints.OUTPUT_PADDING_AS_ZEROS,
    ),
    "output_padding_both_sides": (
        "conv_transpose2d.matches_reference",
        hints.OUTPUT_PADDING_BOTH_SIDES,
    ),
    "padding_cropped_from_end": ("conv_transpose2d.matches_reference", hints.CROPPED_FROM_END),
    "full_pad_ignores_dilation": (
        "conv_transpose2d.matches_reference",
        hints.PAD_IGNORES_DILATION,
    ),
    "spread_trailing_zeros": ("conv_transpose2d.matches_reference", hints.TRAILING_ZEROS),
    "dw_not_rotated_back": (
        "conv_transpose2d_backward.matches_reference",
        hints.DW_NOT_ROTATED_BACK,
    ),
    "dx_crop_adjoint_from_origin": (
        "conv_transpose2d_backward.matches_reference",
        hints.DY_AT_ORIGIN,
    ),
}


CATALOGUE = Catalogue(
    name="conv_transpose2d",
    module=STUDENT,
    bugs=BUGS,
    caught={bug: (prop, [hint]) for bug, (prop, hint) in CAUGHT.items()},
    cases=("ConvTransposeCase(",),
    isolate=False,
)


def test_every_bug_is_pinned_to_one_of_the_ops_properties() -> None:
    assert set(CAUGHT) == set(BUGS)
    names = {prop.name for prop in PROPERTIES}
    for bug, (prop, _) in CAUGHT.items():
        assert prop in names and prop.startswith("conv_transpose2d"), f"{bug} is pinned to {prop}"


def test_the_weight_layout_hint_also_reads_the_values() -> None:
    """With as many output as input channels the mistaken layout runs, and gives wrong values."""
    case = ConvTransposeCase(1, 4, 4, 3, 3, (2, 2), stride=(2, 2), groups=2, seed=3)
    with pytest.raises(AssertionError) as raised:
        check_example(f"{STUDENT}:weight_layout_out_in", "conv_transpose2d.matches_reference", case)
    assert hints.WEIGHT_LAYOUT in str(raised.value)


@pytest.mark.usefixtures("torch_required")
def test_the_student_as_written_passes_every_property_of_the_op() -> None:
    """Every property of both functions (`--ops conv_transpose`); at 25 examples, as
    tests/checks/test_verify_catalogue.py runs its slow correct candidates (the student loops over taps)."""
    result = verify(f"{STUDENT}:correct", ops=["conv_transpose"], examples=25, isolate=False)
    assert result.passed, result.explain()
    assert len(result.properties) == len(select_properties(["conv_transpose"]))
    assert all(p.status == "passed" for p in result.properties), [
        (p.name, p.status) for p in result.properties
    ]


def test_the_backward_of_an_unrotated_kernel_is_named_too() -> None:
    """The student's backward adjoins its own forward, so it inherits the forward's bug in dx."""
    case = ConvTransposeCase(2, 2, 3, 3, 4, (2, 3), stride=(2, 1), padding=(1, 0), seed=5)
    with pytest.raises(AssertionError) as raised:
        check_example(
            f"{STUDENT}:kernel_not_rotated", "conv_transpose2d_backward.matches_reference", case
        )
    assert hints.DX_KERNEL_NOT_ROTATED in str(raised.value)
    assert hints.DW_NOT_ROTATED_BACK not in str(raised.value)
