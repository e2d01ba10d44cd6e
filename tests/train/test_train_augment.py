"""The training augmentation: exact on the transformations whose result is known, seeded,
and chosen by the configuration (whole-pixel shifts only for the first recipe)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from cnnref.train.augment import random_affine, random_shift, random_stroke
from cnnref.train.cli import DEFAULTS
from cnnref.train.loop import TrainingConfig


class AtTheLimit:
    """A stand-in generator whose every uniform draw is the upper bound: the largest change."""

    def uniform(self, low: float, high: float, size: tuple[int, ...] | int) -> np.ndarray:
        return np.full(size, high, dtype=float)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(4).random((3, 1, 28, 28), dtype=np.float32)


def affine(images: np.ndarray, rng, **changes: float) -> np.ndarray:
    arguments = {"max_shift": 0.0, "rotation": 0.0, "scale": 0.0, "shear": 0.0, **changes}
    return random_affine(images, rng, **arguments)


def test_no_change_returns_the_images(images: np.ndarray) -> None:
    out = affine(images, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.array_equal(out, images)


def test_a_quarter_turn_is_rot90(images: np.ndarray) -> None:
    turned = affine(images, AtTheLimit(), rotation=90.0)
    np.testing.assert_allclose(turned, np.rot90(images, k=-1, axes=(2, 3)), atol=1e-5)


def test_a_whole_pixel_shift_moves_the_digit_and_fills_zeros(images: np.ndarray) -> None:
    moved = affine(images, AtTheLimit(), max_shift=1.0)  # reads one pixel down and right
    np.testing.assert_array_equal(moved[..., :-1, :-1], images[..., 1:, 1:])
    assert not moved[..., -1, :].any() and not moved[..., :, -1].any()


def test_an_enlarged_digit_matches_scipy_about_the_centre(images: np.ndarray) -> None:
    enlarged = affine(images, AtTheLimit(), scale=1.0)  # zoom 2: pixel p reads c + (p - c) / 2
    centre = 13.5
    rows, cols = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    where = [centre + (rows - centre) / 2, centre + (cols - centre) / 2]
    for image, out in zip(images[:, 0], enlarged[:, 0]):
        expected = scipy.ndimage.map_coordinates(image, where, order=1, mode="constant")
        np.testing.assert_allclose(out, expected, atol=1e-6)


def test_strokes_grow_or_shrink_by_one_pixel() -> None:
    square = np.zeros((400, 1, 28, 28), dtype=np.float32)
    square[..., 10:13, 10:13] = 1  # 3x3 strokes: 4x4 when thicker, 2x2 when thinner
    changed = random_stroke(square, np.random.default_rng(0), probability=0.5)
    counts = changed.sum(axis=(1, 2, 3))
    assert set(counts) == {4.0, 9.0, 16.0}, set(counts)
    assert 0.4 < np.mean(counts == 9.0) < 0.6  # half are left alone
    assert np.array_equal(random_stroke(square, np.random.default_rng(0), 0.0), square)


def test_the_same_seed_draws_the_same_batch(images: np.ndarray) -> None:
    def draw(seed: int) -> np.ndarray:
        return DEFAULTS.augment(images, np.random.default_rng([seed, 0, 0]))

    assert np.array_equal(draw(1), draw(1))
    assert not np.array_equal(draw(1), draw(2))


def test_the_first_recipe_keeps_its_whole_pixel_shifts(images: np.ndarray) -> None:
    first = TrainingConfig()  # what a checkpoint without the newer fields resumes with
    assert (first.rotation, first.scale, first.shear, first.stroke) == (0, 0, 0, 0)
    expected = random_shift(images, np.random.default_rng(9), first.max_shift)
    assert np.array_equal(first.augment(images, np.random.default_rng(9)), expected)
    assert DEFAULTS.rotation and DEFAULTS.scale and DEFAULTS.shear and DEFAULTS.stroke
