"""Ready adapters for two libraries whose autodiff is a function, not a method of a value.

* HIPS autograd (``pip install autograd``): ``autograd.make_vjp(f, argnum)(*args)``
  returns ``(vjp, y)``; with a tuple ``argnum`` the vjp gives one gradient per argument.
* TensorFlow: a ``tf.GradientTape`` records the forward on watched tensors;
  ``tape.gradient(y, sources, output_gradients=dy)`` is the pullback.

Each imports its library only when built, and hands ``from_vjp`` the pair it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np

from .candidate import Adapted
from .differentiable import from_vjp


def hips_autograd(
    *,
    geometry: str = "pairs",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from forwards written with ``autograd.numpy``; backwards by ``make_vjp``.

    >>> layers = hips_autograd(conv2d=my_conv2d, max_pool2d=my_max_pool2d)  # doctest: +SKIP
    """
    from autograd import make_vjp

    def vjp(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[Any, Callable]:
        pullback, y = make_vjp(f, tuple(range(len(arrays))))(*arrays)
        return y, lambda dy: list(pullback(dy))

    return from_vjp(
        vjp,
        call=lambda f, arrays: f(*arrays),
        geometry=geometry,
        what="HIPS autograd forwards (autograd.make_vjp)",
        unsupported=unsupported,
        conventions=conventions,
        **cast(dict[str, Any], forwards),
    )


def tensorflow_forward(
    *,
    geometry: str = "pairs",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from TensorFlow forwards on (NCHW) tensors; backwards by ``tf.GradientTape``.

    A source the output does not depend on gets zeros (the tape says None).

    >>> layers = tensorflow_forward(conv2d=my_conv2d)  # doctest: +SKIP
    """
    import tensorflow as tf

    def call(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
        return f(*(tf.constant(a) for a in arrays))

    def vjp(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[Any, Callable]:
        sources = [tf.constant(a) for a in arrays]
        with tf.GradientTape(persistent=True) as tape:
            for source in sources:
                tape.watch(source)
            y = f(*sources)

        def pullback(dy: np.ndarray) -> list[Any]:
            gradients = tape.gradient(y, sources, output_gradients=tf.constant(dy))
            return [np.zeros_like(a) if g is None else g for a, g in zip(arrays, gradients)]

        return y, pullback

    return from_vjp(
        vjp,
        call=call,
        geometry=geometry,
        what="TensorFlow forwards (tf.GradientTape)",
        unsupported=unsupported,
        conventions=conventions,
        **cast(dict[str, Any], forwards),
    )
