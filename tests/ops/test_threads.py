"""The reference on several threads: the same results as on one, every time, and small
inputs kept on the calling thread; the thread count's default and its settings."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import cnnref
from cnnref.cli import main
from cnnref.ops import blocks, threads
from tests.conftest import require


@pytest.fixture(autouse=True)
def default_threads() -> Iterator[None]:
    """Each test starts and ends on the default: BLAS as it was, no count set."""
    require(threads.blas_controller() is not None, "threadpoolctl (pip install -e '.[test]')")
    threads.set_threads(None)
    yield
    threads.set_threads(None)


@pytest.fixture
def many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few items, and every call shared out however small."""
    monkeypatch.setattr(blocks, "PATCH_BUDGET_BYTES", 4096)
    monkeypatch.setattr(blocks, "PLANE_BUDGET_BYTES", 256)
    monkeypatch.setattr(blocks, "PARALLEL_MIN_BYTES", 0)


def _inputs(dtype: type) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "x": rng.standard_normal((7, 3, 11, 10)).astype(dtype),
        "w": rng.standard_normal((8, 3, 3, 3)).astype(dtype),
        "w_wide": rng.standard_normal((16, 3, 3, 3)).astype(dtype),  # >= 4x: the scatter path
        "b": rng.standard_normal(8).astype(dtype),
    }


def _every_op(dtype: type) -> dict[str, np.ndarray]:
    """Each fast function's outputs on one set of inputs with several blocks each."""
    a = _inputs(dtype)
    x, w, b = a["x"], a["w"], a["b"]
    geometry = {"stride": (2, 1), "padding": 1, "dilation": (1, 2)}
    y = cnnref.conv2d(x, w, b, **geometry)
    dy = np.random.default_rng(8).standard_normal(y.shape).astype(dtype)
    dx, dw, db = cnnref.conv2d_backward(dy, x, w, b, **geometry)
    wide = cnnref.conv2d(x, a["w_wide"], padding=1)
    dx_wide, dw_wide, _ = cnnref.conv2d_backward(wide, x, a["w_wide"], padding=1)
    grouped = cnnref.conv2d(x[:, :2], w[:, :1], groups=2)
    pooled = cnnref.max_pool2d(x, 3, stride=2, padding=1)
    pool_dx = cnnref.max_pool2d_backward(pooled, x, 3, stride=2, padding=1)
    pool_split = cnnref.max_pool2d_backward(pooled, x, 3, stride=2, padding=1, ties="split")
    disjoint = cnnref.max_pool2d(x, 2)
    disjoint_dx = cnnref.max_pool2d_backward(disjoint, x, 2)
    averaged = cnnref.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    average_dx = cnnref.avg_pool2d_backward(averaged, x, 3, stride=2, padding=1, ceil_mode=True)
    transposed = cnnref.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=2, padding=1)
    return {
        "conv2d": y,
        "conv2d dx": dx,
        "conv2d db": db,
        "conv2d dx (scatter)": dx_wide,
        "conv2d groups": grouped,
        "max_pool2d": pooled,
        "max_pool2d dx": pool_dx,
        "max_pool2d dx (split ties)": pool_split,
        "max_pool2d 2x2": disjoint,
        "max_pool2d 2x2 dx": disjoint_dx,
        "avg_pool2d": averaged,
        "avg_pool2d dx": average_dx,
        "conv_transpose2d": transposed,
        # Sums over the batch: one term per block, added in block order.
        "conv2d dw": dw,
        "conv2d dw (scatter case)": dw_wide,
    }


def _on(count: int, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    threads.set_threads(count)
    return compute()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("count", [2, 3])
def test_several_threads_give_the_one_thread_results(
    dtype: type, count: int, many_blocks: None
) -> None:
    one = _on(1, lambda: _every_op(dtype))
    several = _on(count, lambda: _every_op(dtype))
    for name, expected in one.items():
        # Each item computed as on one thread and written to its own place; sums over the
        # batch (dW) added block by block in block order, as on one thread.
        assert several[name].dtype == expected.dtype, name
        assert np.array_equal(several[name], expected, equal_nan=True), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_repeat_bit_for_bit_for_a_thread_count(dtype: type, many_blocks: None) -> None:
    first = _on(2, lambda: _every_op(dtype))
    for _ in range(3):
        again = _every_op(dtype)
        for name, value in first.items():
            assert np.array_equal(again[name], value, equal_nan=True), name


def _blas_raised_to_two() -> None:
    """BLAS on 2 threads, as a caller's own threadpoolctl setting might put it after
    set_threads: the runs must still call it on one thread each."""
    threads.blas_controller().limit(limits=2, user_api="blas")


def test_the_runs_use_several_threads_with_blas_on_one_each(many_blocks: None) -> None:
    threads.set_threads(2)
    assert threads.blas_threads() == 1  # set_threads put BLAS on one thread
    _blas_raised_to_two()
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(run: slice) -> int:
        with lock:
            seen.append((threading.current_thread().name, threads.blas_threads()))
        return run.stop - run.start

    sizes = blocks.for_each_run(9, 1, work)
    assert sizes == [4, 5], sizes  # consecutive runs of near-equal length, in run order
    assert len({name for name, _ in seen}) == 2, seen
    assert {blas for _, blas in seen} == {1}, seen
    assert threads.blas_threads() == 2  # put back after the call


def test_small_inputs_stay_on_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads.set_threads(2)

    def no_pool(count: int) -> None:
        raise AssertionError("a small input went to the thread pool")

    monkeypatch.setattr(blocks, "_threads", no_pool)
    rng = np.random.default_rng(0)
    for size in (1, 4, 8):
        x = rng.standard_normal((2, 3, size, size))
        w = rng.standard_normal((4, 3, 1, 1))
        y = cnnref.conv2d(x, w)
        cnnref.conv2d_backward(y, x, w)
        cnnref.max_pool2d_backward(cnnref.max_pool2d(x, 1), x, 1)
        cnnref.avg_pool2d_backward(cnnref.avg_pool2d(x, 1), x, 1)
    assert len(blocks.runs(64, blocks.PARALLEL_MIN_BYTES // 64 - 1)) == 1
    assert len(blocks.runs(64, blocks.PARALLEL_MIN_BYTES // 64)) == 2
    assert len(blocks.runs(1, 2**30)) == 1  # one item: nothing to share


def test_a_failing_run_fails_the_call_and_puts_blas_back(many_blocks: None) -> None:
    threads.set_threads(2)
    _blas_raised_to_two()

    def work(run: slice) -> None:
        if run.start > 0:
            raise ZeroDivisionError("in the second run")

    with pytest.raises(ZeroDivisionError, match="second run"):
        blocks.for_each_run(4, 1, work)
    assert threads.blas_threads() == 2


def test_each_run_sees_the_callers_floating_point_settings(many_blocks: None) -> None:
    threads.set_threads(2)

    def divide(run: slice) -> None:
        np.ones(1) / np.zeros(1)

    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        blocks.for_each_run(4, 1, divide)
    with np.errstate(divide="ignore"):
        blocks.for_each_run(4, 1, divide)  # and no warning, which pytest would not see


@pytest.mark.parametrize(
    ("cores", "load", "free"),
    [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 2.4, 1), (2, 9.0, 1), (8, 2.6, 5), (1, 0.0, 1)],
)
def test_the_default_is_the_cores_less_the_load_and_at_least_one(
    cores: int, load: float, free: int
) -> None:
    assert threads.free_cores(cores, load) == free


def test_the_default_stays_within_blas_s_own_count(monkeypatch: pytest.MonkeyPatch) -> None:
    blas = threads.blas_threads()
    monkeypatch.setattr(threads, "free_cores", lambda: blas + 6)
    assert threads.get_threads() == blas > 0
    assert threads.blas_threads() == 1  # the blocks take the threads, BLAS one each
    threads.set_threads(None)
    assert threads.blas_threads() == blas
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    assert threads.get_threads() == 1


def test_set_threads_puts_blas_on_one_and_gives_back_the_setting_it_replaced() -> None:
    original = threads.blas_threads()
    assert cnnref.set_threads(3) is None
    assert (cnnref.get_threads(), threads.blas_threads()) == (3, 1)
    assert cnnref.set_threads(1) == 3
    assert (cnnref.get_threads(), threads.blas_threads()) == (1, 1)
    assert cnnref.set_threads(None) == 1
    assert threads.blas_threads() == original


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_a_count_that_is_not_a_whole_number_above_zero_is_refused(count: object) -> None:
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        cnnref.set_threads(count)


def test_without_threadpoolctl_one_thread_and_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(threads, "blas_controller", lambda: None)
    assert threads.get_threads() == 1
    with pytest.raises(RuntimeError, match=r"pip install 'cnnref\[threads\]'"):
        cnnref.set_threads(2)
    assert main(["train", "--threads", "2"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("cnnref train: error: --threads 2: threads need threadpoolctl"), error
    assert "\n" not in error


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "argument --threads: must be > 0 and finite; got 0"),
        ("-2", "argument --threads: must be > 0 and finite; got -2"),
        ("two", "argument --threads: expected a whole number; got 'two'"),
        ("1.5", "argument --threads: expected a whole number; got '1.5'"),
    ],
)
def test_a_bad_threads_option_is_a_usage_error(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--threads", value])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_forked_child_runs_its_blocks_on_threads_of_its_own(many_blocks: None) -> None:
    """The pool's threads stay in the parent: a child that asked them for work would hang."""
    threads.set_threads(2)
    x = np.random.default_rng(0).standard_normal((8, 3, 12, 12))
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
    expected = cnnref.conv2d(x, w)  # the pool now exists, with its threads
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the threaded call returns the same result
        os._exit(0 if np.array_equal(cnnref.conv2d(x, w), expected) else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0, "the child's result differed"
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in its first threaded call")
