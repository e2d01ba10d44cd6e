"""The generic hook: any autograd library whose values have ``.backward()`` and ``.grad``.

mygrad, DeZero, tinygrad and PyTorch all work the same way: wrap the input
arrays, run the forward, seed dL/dY, read each input's ``.grad``.  They
differ in how dL/dY is seeded, so ``from_autograd`` takes one of these
named styles (``SEEDING``), a callable ``backward(y, dy)`` of your own, or
``"detect"`` (the default), which tries the named styles in order on the
first backward and keeps the first that works:

* ``"y.backward(dy)"``: mygrad, PyTorch with a tensor dy;
* ``"y.backward(wrap(dy))"``: dy wrapped in the library's type first (tinygrad);
* ``"y.grad = wrap(dy)"``: set the output's gradient, then ``y.backward()`` (DeZero);
* ``"y.grad = dy"``: the same with the bare array.

A style "works" when it raises nothing, leaves a gradient on every input,
and seeding 2 dy gives exactly twice the gradients of dy: a style whose dy
the library ignores (seeding ones instead) fails that.  A library that
needs a call into its engine gets a callable: ``backward=lambda y, dy:
engine.backward(y, dy)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .arrays import as_array
from .candidate import Adapted
from .differentiable import from_vjp

Seed = Callable[[Any, np.ndarray], None]


def _seed_by_grad(y: Any, dy: Any) -> None:
    y.grad = dy
    y.backward()


def seeding_styles(wrap: Callable[[np.ndarray], Any]) -> dict[str, Seed]:
    """The named ways to seed dL/dY, for a library whose values ``wrap`` makes."""
    return {
        "y.backward(dy)": lambda y, dy: y.backward(dy),
        "y.backward(wrap(dy))": lambda y, dy: y.backward(wrap(dy)),
        "y.grad = wrap(dy)": lambda y, dy: _seed_by_grad(y, wrap(dy)),
        "y.grad = dy": _seed_by_grad,
    }


SEEDING = (*seeding_styles(lambda dy: dy), "detect")


def grad_of(leaf: Any) -> Any:
    """The usual place a library leaves a gradient: ``leaf.grad``."""
    return leaf.grad


def from_autograd(
    wrap: Callable[[np.ndarray], Any],
    *,
    backward: str | Seed = "detect",
    grad: Callable[[Any], Any] = grad_of,
    value: Callable[[Any], Any] = as_array,
    geometry: str = "pairs",
    what: str = "an autograd library",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from forwards that take the library's values.

    ``wrap(array)`` makes an input the library differentiates with respect
    to; ``backward`` seeds dL/dY from the forward's output (a name of
    ``SEEDING``, or ``backward(y, dy)``); ``grad(leaf)`` is a wrapped input's
    gradient afterwards (default ``leaf.grad``); ``value`` turns the
    library's values into arrays (default ``as_array``).  ``forwards`` and
    ``geometry`` are as ``from_vjp`` takes them.

    A library that copies the arrays it wraps would hide a forward that
    changes its inputs in place, so whatever such a call leaves in a wrapped
    input is written back to the caller's array, for the contract check to see.
    """
    seed = _seeding(backward, wrap, grad, value)

    def call(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
        leaves = [wrap(array) for array in arrays]
        try:
            return f(*leaves)
        finally:
            _write_back(arrays, leaves, value)

    def vjp(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[Any, Callable]:
        def run() -> tuple[Any, list[Any]]:
            leaves = [wrap(array) for array in arrays]
            try:
                return f(*leaves), leaves
            except BaseException:
                _write_back(arrays, leaves, value)
                raise

        y, leaves = run()

        def pullback(dy: np.ndarray) -> list[Any]:
            try:
                seed(y, dy, rerun=run)
                return [grad(leaf) for leaf in leaves]
            finally:
                _write_back(arrays, leaves, value)

        return y, pullback

    return from_vjp(
        vjp,
        call=call,
        value=value,
        geometry=geometry,
        what=what,
        unsupported=unsupported,
        conventions=conventions,
        **forwards,
    )


def _seeding(backward: str | Seed, wrap: Callable, grad: Callable, value: Callable) -> Callable:
    """``seed(y, dy, rerun=)``: the chosen style, or the detected one (found once, then kept)."""
    styles = seeding_styles(wrap)
    if callable(backward):
        return lambda y, dy, rerun: backward(y, dy)
    if backward in styles:
        chosen = styles[backward]
        return lambda y, dy, rerun: chosen(y, dy)
    if backward != "detect":
        raise ValueError(f"backward must be one of {list(SEEDING)} or a callable; got {backward!r}")
    found: list[Seed] = []

    def detected(y: Any, dy: np.ndarray, rerun: Callable) -> None:
        if found:
            found[0](y, dy)
            return
        seed, telling = _detect(styles, rerun, dy, grad, value)
        if telling:  # gradients of all zeros cannot tell the styles apart: ask again next time
            found.append(seed)
        seed(y, dy)

    return detected


def _detect(styles: dict[str, Seed], rerun: Callable, dy: np.ndarray, grad, value):
    """The first style whose gradients for a probe dy double when it doubles, and whether
    they were non-zero (only then does the test tell the styles apart)."""
    probe = np.ones_like(dy)
    tried, scaling = [], []
    for name, seed in styles.items():
        try:
            once, twice = (_gradients(seed, rerun, k * probe, grad, value) for k in (1, 2))
        except Exception as error:
            tried.append(f"{name}: {type(error).__name__}: {error}")
            continue
        if not all(
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and np.array_equal(2 * a, b, equal_nan=True)
            for a, b in zip(once, twice)
        ):
            tried.append(f"{name}: the gradients did not scale with dy")
            continue
        if any(np.any((a != 0) & ~np.isnan(a)) for a in once):
            return seed, True
        scaling.append(seed)
    if scaling:
        return scaling[0], False
    raise TypeError(
        "from_autograd could not find how this library seeds dL/dY; pass backward= (a name of "
        f"cnnref.adapters.SEEDING or a callable backward(y, dy)). Tried: {'; '.join(tried)}"
    )


def _gradients(seed: Seed, rerun: Callable, dy: np.ndarray, grad, value) -> list[Any]:
    y, leaves = rerun()
    seed(y, dy)
    return [value(grad(leaf)) for leaf in leaves]


def _write_back(arrays: Sequence[np.ndarray], leaves: Sequence[Any], value: Callable) -> None:
    """Copy a change the call made to a wrapped copy of an input back into the input."""
    for array, leaf in zip(arrays, leaves):
        try:
            after = value(leaf)
        except Exception:  # a value the library will not show: nothing to compare
            continue
        if (
            isinstance(after, np.ndarray)
            and after.shape == array.shape
            and after.dtype == array.dtype  # a library that converts on wrap has not mutated
            and not np.may_share_memory(after, array)  # the library works on the array itself
            and not np.array_equal(after, array, equal_nan=True)
        ):
            np.copyto(array, after)
