"""Data augmentation: each training digit drawn again with a small random change of pose.

Ten thousand digits are few for a network that must read other people's
handwriting; shifting, turning, scaling and slanting each digit a little
every time it is seen teaches the network that none of these change the
class (the variation between writers is mostly of this kind).
"""

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


def random_affine(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    max_shift: float,
    rotation: float,
    scale: float,
    shear: float,
) -> np.ndarray:
    """Each (C, H, W) image turned by up to ``rotation`` degrees, scaled by a factor in
    [1 - scale, 1 + scale], slanted by up to ``shear`` degrees and moved by up to
    ``max_shift`` pixels on each axis, all drawn uniformly and independently per image,
    about the image's centre; bilinear interpolation, zero (background) outside."""
    n, _, height, width = images.shape
    angle, slant = np.deg2rad(rng.uniform(-1, 1, size=(2, n)) * [[rotation], [shear]])
    zoom = 1 + rng.uniform(-scale, scale, size=(n,))
    shift = rng.uniform(-max_shift, max_shift, size=(2, n))
    # The map from an output pixel back to where it reads the input: rotation, then
    # shear along the rows, then 1/zoom (so that a zoom > 1 enlarges the digit).
    cos, sin, tan = np.cos(angle), np.sin(angle), np.tan(slant)
    rotate_then_shear = np.stack(
        [np.stack([cos, -sin + cos * tan], -1), np.stack([sin, cos + sin * tan], -1)], -2
    )  # (N, 2, 2) acting on (row, col)
    inverse = rotate_then_shear / zoom[:, None, None]
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel()], -1) - centre  # (H*W, 2)
    source = grid @ inverse.transpose(0, 2, 1) + centre + shift.T[:, None, :]  # (N, H*W, 2)
    return bilinear(images, source[..., 0], source[..., 1])


def random_stroke(images: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
    """Each (C, H, W) image's strokes made a pixel thicker (a 2x2 maximum filter) with
    ``probability`` / 2, a pixel thinner (a 2x2 minimum filter) with ``probability`` / 2,
    and left alone otherwise: pens and writers differ in stroke width."""
    if probability == 0:
        return images
    n = len(images)
    padded = np.pad(images, ((0, 0), (0, 0), (0, 1), (0, 1)))
    corners = [padded[..., r : r + images.shape[2], c : c + images.shape[3]]
               for r in (0, 1) for c in (0, 1)]  # fmt: skip
    thicker = np.maximum.reduce(corners)
    thinner = np.minimum.reduce(corners)
    choice = rng.choice(3, size=n, p=[probability / 2, 1 - probability, probability / 2])
    return np.stack([thinner, images, thicker])[choice, np.arange(n)]


def bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``images`` (N, C, H, W) read at the fractional positions ``rows``, ``cols`` (N, P)
    by bilinear interpolation, zero outside; returns (N, C, H, W) when P = H*W."""
    n, channels, height, width = images.shape
    # One zero row and column before the image and two after it: a position clipped to
    # [-1, H] then reads zeros only, or a blend of the border with zero.
    padded = np.pad(images, ((0, 0), (0, 0), (1, 2), (1, 2))).reshape(n, channels, -1)
    rows = np.clip(rows, -1, height) + 1
    cols = np.clip(cols, -1, width) + 1
    top, left = np.floor(rows), np.floor(cols)
    down, right = (rows - top).astype(images.dtype), (cols - left).astype(images.dtype)
    stride = width + 3
    corner = (top * stride + left).astype(np.intp)[:, None, :]  # (N, 1, P)

    def at(offset: int) -> np.ndarray:
        return np.take_along_axis(padded, corner + offset, axis=2)

    down, right = down[:, None], right[:, None]
    upper_row = at(0) * (1 - right) + at(1) * right
    lower_row = at(stride) * (1 - right) + at(stride + 1) * right
    return (upper_row * (1 - down) + lower_row * down).reshape(n, channels, height, width)
