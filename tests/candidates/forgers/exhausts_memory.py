"""Allocates and touches memory until something gives."""

import numpy as np

HOARD = []


def conv2d(*args, **kwargs):
    while True:
        HOARD.append(np.ones(1 << 27))  # 1 GiB, written
