"""How the fast forms work through a batch: in runs, one per thread, each a block at a time.

Both fast ops build a scratch copy several times larger than their input (the
im2col patch matrix, the pooling tap planes).  Built for the whole batch at
once it would grow with the batch and fall out of cache; built per block of
images (or image channels) it stays within ``budget`` bytes and is reused.

The batch is first shared out in consecutive runs of items, one per thread
(``threads.get_threads()``), each run working through its blocks in order
with its own scratch buffer.  NumPy lets go of the GIL in its copies, ufuncs
and matrix products, so the runs use the cores together, each calling BLAS
on one thread.  Every run writes its own slice of a
preallocated output; a sum over the batch (dL/dW) is one term per block,
added in block order as one thread adds them, so it has the same bits on any
number of threads.  Work too small to
gain from a second thread (the verifier's 1x1..8x8 inputs) stays on the
calling thread, as does work started by a run itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import numpy as np

from . import threads

Result = TypeVar("Result")

# Large enough for full-size matrix products, small enough to stay in the last-level cache.
PATCH_BUDGET_BYTES = 8 * 2**20
# Pooling passes are memory-bound: blocks that fit in a core's L2 cache run them fastest.
PLANE_BUDGET_BYTES = 2**20
# Handing a run to another thread costs about 36 us; below this much scratch work in all
# (about 100 us of copying), a call runs on the calling thread.
PARALLEL_MIN_BYTES = 2**20

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_in_run = threading.local()  # set on a thread while it works through a run
_spares = threading.local()  # each thread's scratch buffer, kept between calls


def batch_blocks(items: slice, bytes_per_item: int, budget: int) -> Iterator[slice]:
    """Consecutive slices covering ``items`` (a slice with a start and a stop), each of as
    many items as fit in ``budget`` bytes, and at least one."""
    step = max(1, budget // max(1, bytes_per_item))
    for start in range(items.start, items.stop, step):
        yield slice(start, min(start + step, items.stop))


@contextlib.contextmanager
def scratch(nbytes: int) -> Iterator[np.ndarray]:
    """A buffer of at least ``nbytes`` bytes (uint8), this thread's spare one if it is large
    enough: a fresh buffer's pages fault in on first touch (outside the main thread's heap,
    on every call), which cost the 2-thread conv2d a third of its time.  Each thread keeps
    its largest buffer (at most a block's budget) for its next call."""
    spare = getattr(_spares, "buffer", None)
    if spare is not None and spare.nbytes >= nbytes:
        _spares.buffer = None  # taken: a call nested in this one gets a buffer of its own
        buffer = spare
    else:
        buffer = np.empty(nbytes, dtype=np.uint8)
    try:
        yield buffer
    finally:
        spare = getattr(_spares, "buffer", None)
        if spare is None or spare.nbytes < buffer.nbytes:
            _spares.buffer = buffer


def runs(count: int, bytes_per_item: int) -> list[slice]:
    """``range(count)`` shared out in consecutive runs of near-equal length, one per thread,
    or one run where the work is too small to share (or a run of another call asks)."""
    small = count * bytes_per_item < PARALLEL_MIN_BYTES or getattr(_in_run, "active", False)
    workers = 1 if small or count < 2 else min(threads.get_threads(), count)
    return [slice(count * k // workers, count * (k + 1) // workers) for k in range(workers)]


def for_each_run(count: int, bytes_per_item: int, work: Callable[[slice], Result]) -> list[Result]:
    """``work(run)`` for each run of ``runs(count, bytes_per_item)``, each on its own thread
    (the first on the calling one); the results in run order."""
    shares = runs(count, bytes_per_item)
    if len(shares) == 1:
        return [work(shares[0])]
    pool = _threads(len(shares) - 1)
    with threads.blas_pinned_to_one_thread():
        # Each run sees the caller's context (np.errstate lives there), a copy each.
        futures = [
            pool.submit(contextvars.copy_context().run, _run, work, run) for run in shares[1:]
        ]
        try:
            first = _run(work, shares[0])
        finally:  # no run may outlive the call (nor BLAS's one thread), even one that failed
            wait(futures)
        return [first, *(future.result() for future in futures)]


def add_over_blocks(
    total: np.ndarray,
    count: int,
    bytes_per_item: int,
    budget: int,
    work: Callable[[slice], np.ndarray],
) -> np.ndarray:
    """``total`` plus ``work(block)`` for each block of ``batch_blocks`` of ``range(count)``,
    added in place in block order, as one thread adds them: the threads take whole blocks
    and return each block's term, so the sum has the same bits for any thread count."""
    every = list(batch_blocks(slice(0, count), bytes_per_item, budget))

    def terms(run: slice) -> list[np.ndarray]:
        return [work(block) for block in every[run]]

    block_bytes = count * bytes_per_item // max(1, len(every))
    for run in for_each_run(len(every), block_bytes, terms):
        for term in run:
            total += term
    return total


def _run(work: Callable[[slice], Result], run: slice) -> Result:
    _in_run.active = True
    try:
        return work(run)
    finally:
        _in_run.active = False


def _threads(count: int) -> ThreadPoolExecutor:
    """A pool of at least ``count`` threads, kept between calls."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size < count:
            if _pool is not None:
                _pool.shutdown(wait=False)  # its threads end once their runs are done
            _pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="cnnref-blocks")
            _pool_size = count
        assert _pool is not None  # made above whenever the size was short, as it starts
        return _pool


def _forget_pool_after_fork() -> None:
    """In a forked child: the pool's threads did not come along, and a pool that thinks it
    has them would queue runs that nothing takes (the child would hang at its next call)."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
