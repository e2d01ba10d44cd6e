"""JAX: pure forwards on ``jax.Array``s; the backwards are ``jax.vjp``'s pullbacks.

JAX computes in float32 unless ``jax_enable_x64`` is on; the adapter turns
it on (``enable_x64=True``) so that float64 examples stay float64.  JAX
arrays are immutable, so a forward cannot change cnnref's arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np

from .candidate import Adapted
from .differentiable import from_vjp


def jax_forward(
    *,
    enable_x64: bool = True,
    geometry: str = "pairs",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from JAX forwards with cnnref's signatures (one keyword per op).

    >>> layers = jax_forward(conv2d=my_conv2d, max_pool2d=my_max_pool2d)  # doctest: +SKIP
    """
    import jax
    import jax.numpy as jnp

    if enable_x64:
        jax.config.update("jax_enable_x64", True)

    def call(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
        return f(*(jnp.asarray(a) for a in arrays))

    def vjp(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[Any, Callable]:
        y, pullback = jax.vjp(f, *(jnp.asarray(a) for a in arrays))
        return y, lambda dy: pullback(jnp.asarray(dy))

    return from_vjp(
        vjp,
        call=call,
        geometry=geometry,
        what="JAX forwards (jax.vjp)",
        unsupported=unsupported,
        conventions=conventions,
        **cast(dict[str, Any], forwards),
    )
