"""Data augmentation: random translations, the cheapest way to get more digits from fewer."""

from __future__ import annotations

import numpy as np


def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Each (C, H, W) image moved by its own random offset in [-max_shift, max_shift] on both
    axes; pixels moved in from outside are zero (background)."""
    if max_shift == 0:
        return images
    n, channels, height, width = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))
    row_offset, col_offset = rng.integers(-s, s + 1, size=(2, n))
    rows = (s - row_offset)[:, None] + np.arange(height)  # (N, H): padded rows each image reads
    cols = (s - col_offset)[:, None] + np.arange(width)
    return padded[
        np.arange(n)[:, None, None, None],
        np.arange(channels)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
