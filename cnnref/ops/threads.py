"""How many threads the reference's fast forms use: its block pool's and NumPy's BLAS's.

One number, ``get_threads()``: a call's blocks run on that many Python
threads (``blocks.for_each_run``), and NumPy's BLAS, once cnnref has set the
count, on one thread, process-wide.  The blocks are where the threads go: an
OpenBLAS thread keeps spinning for about 0.1 s after each call of its own,
on the core a block's thread then needs (measured: a training step 1.3-1.6x
slower with BLAS on 2 threads next to 2 block threads).  The default is the
cores that are free when it is first needed: those this process may run on,
less the 1-minute load average.  On a shared runner whose other jobs keep the
cores busy, threads that wait for a core another process holds cost far more
than they save, so there it falls to one.

Setting BLAS's threads at run time needs threadpoolctl (the ``threads``
extra).  Without it the reference runs every block on the calling thread
and leaves BLAS as it is, as it did before it had threads.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_chosen: int | None = None  # set_threads's count; None: the default
_default: int | None = None  # the default, worked out at first use
_controller = None  # threadpoolctl's ThreadpoolController, made once (it inspects every library)
_blas_pinned = 0  # calls now running blocks on several threads, each with BLAS on one
_blas_limiter = None  # what restores BLAS's threads when the last of those calls ends
_blas_before = None  # what restores BLAS's threads as they were before cnnref first set them
_lock = threading.Lock()

MISSING = "threads need threadpoolctl to set BLAS's threads: pip install 'cnnref[threads]'"


def free_cores(cores: int | None = None, load: float | None = None) -> int:
    """The cores left for this process: ``cores`` (default: those it may run on) less the
    1-minute load average ``load`` (default: the system's), rounded, and at least 1."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        cores = cores or 1
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # no load average on this system: take the cores as free
            load = 0.0
    return max(1, cores - round(load))


def get_threads() -> int:
    """The threads the reference uses now: ``set_threads``'s count, else the default, worked
    out once (which puts BLAS on one thread, as ``set_threads`` does): the free cores, no
    more than BLAS's own count (so OMP_NUM_THREADS=1 holds)."""
    global _default
    if _chosen is not None:
        return _chosen
    if _default is None:
        if blas_controller() is None:
            _default = 1
        else:
            _default = min(free_cores(), max(blas_threads(), 1))
            _blas_on_one_thread()
    return _default


def set_threads(count: int | None) -> int | None:
    """Run the reference's blocks on ``count`` threads from now on, and NumPy's BLAS on
    one (process-wide, as ``threadpoolctl.threadpool_limits`` sets it); ``None`` goes back
    to the default: BLAS's threads as they were, and the free cores worked out again at
    first use.  Returns the setting it replaces, which ``set_threads`` takes back.

    Results have the same bits for any count: each block's work is the same on any
    thread, the sums over the batch (dL/dW) add one term per block in block order
    (``blocks.add_over_blocks``), and BLAS runs on one thread throughout.
    """
    global _chosen, _default, _blas_before
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"threads must be a whole number >= 1, or None; got {count!r}")
    if count is not None and blas_controller() is None:
        raise RuntimeError(MISSING)
    previous = _chosen
    if count is None:
        if _blas_before is not None:
            _blas_before.restore_original_limits()
            _blas_before = None
        _default = None
    else:
        _blas_on_one_thread()
    _chosen = count
    return previous


def _blas_on_one_thread() -> None:
    """BLAS on one thread, process-wide, keeping how to undo the first such change."""
    global _blas_before
    limiter = blas_controller().limit(limits=1, user_api="blas")
    if _blas_before is None:
        _blas_before = limiter


def blas_controller():
    """threadpoolctl's controller of the libraries loaded now, made once; None without
    threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        _controller = ThreadpoolController()
    return _controller


def blas_threads() -> int:
    """BLAS's thread count now (the largest, if NumPy and SciPy each bring one); 0 where
    threadpoolctl is missing or finds no BLAS."""
    blas = blas_controller()
    if blas is None:
        return 0
    controllers = blas.select(user_api="blas").lib_controllers
    return max((lib.get_num_threads() or 0 for lib in controllers), default=0)


@contextlib.contextmanager
def blas_pinned_to_one_thread() -> Iterator[None]:
    """BLAS on one thread while blocks run on several, even if something raised it since
    cnnref set it; put back when the last call doing so ends (calls from several threads
    at once share this)."""
    global _blas_pinned, _blas_limiter
    blas = blas_controller()
    with _lock:
        if _blas_pinned == 0 and blas is not None:
            _blas_limiter = blas.limit(limits=1, user_api="blas")
        _blas_pinned += 1
    try:
        yield
    finally:
        with _lock:
            _blas_pinned -= 1
            if _blas_pinned == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
