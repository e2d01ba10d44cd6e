"""Working through the batch a block at a time, so that scratch buffers stay cache-sized.

Both fast ops build a scratch copy several times larger than their input (the
im2col patch matrix, the pooling tap planes).  Built for the whole batch at
once it would grow with the batch and fall out of cache; built per block of
images (or image channels) it stays within ``budget`` bytes and is reused.
"""

from __future__ import annotations

from collections.abc import Iterator

# Large enough for full-size matrix products, small enough to stay in the last-level cache.
PATCH_BUDGET_BYTES = 8 * 2**20
# Pooling passes are memory-bound: blocks that fit in a core's L2 cache run them fastest.
PLANE_BUDGET_BYTES = 2**20


def batch_blocks(count: int, bytes_per_item: int, budget: int) -> Iterator[slice]:
    """Consecutive slices covering ``range(count)``, each of as many items as fit in
    ``budget`` bytes, and at least one."""
    step = max(1, budget // max(1, bytes_per_item))
    for start in range(0, count, step):
        yield slice(start, min(start + step, count))
