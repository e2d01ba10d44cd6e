"""The reverse-mode tape the fake libraries share: a value, its inputs, and their pullback."""

from __future__ import annotations

import numpy as np


class Node:
    """An array-like value; ``_pullback(g)`` gives one gradient per node of ``_inputs``."""

    def __init__(self, data, inputs=(), pullback=None):
        self.data = np.asarray(data)
        self.grad = None
        self._inputs = tuple(inputs)
        self._pullback = pullback

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    @property
    def shape(self):
        return self.data.shape

    def __add__(self, other):
        other = other if isinstance(other, Node) else type(self)(other)

        def pullback(g):
            return [_unbroadcast(g, self.shape), _unbroadcast(g, other.shape)]

        return type(self)(self.data + other.data, (self, other), pullback)

    __radd__ = __add__

    def reshape(self, *shape):
        return type(self)(self.data.reshape(*shape), (self,), lambda g: [np.reshape(g, self.shape)])

    def store_grad(self, gradient: np.ndarray) -> None:
        """Where the library leaves a leaf's gradient (an array, unless it says otherwise)."""
        self.grad = gradient

    def backprop(self, seed) -> None:
        """Accumulate d<self, seed>/d(leaf) into every leaf reached."""
        order, seen = [], set()

        def visit(node):
            if id(node) in seen:
                return
            seen.add(id(node))
            for parent in node._inputs:
                visit(parent)
            order.append(node)

        visit(self)
        grads = {id(self): np.asarray(seed, dtype=self.data.dtype)}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._pullback is None:
                node.store_grad(g)
                continue
            for parent, contribution in zip(node._inputs, node._pullback(g)):
                if contribution is not None:
                    grads[id(parent)] = grads.get(id(parent), 0) + contribution


def _unbroadcast(g, shape):
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def op(cls, forward, backward, inputs):
    """A node of ``cls`` holding ``forward(*arrays)``; ``backward(g, *arrays)`` its gradients
    (one per input; a None input has none)."""
    arrays = [None if node is None else node.data for node in inputs]
    present = [node for node in inputs if node is not None]

    def pullback(g):
        gradients = backward(g, *arrays)
        gradients = gradients if isinstance(gradients, tuple) else (gradients,)
        return [d for node, d in zip(inputs, gradients) if node is not None]

    return cls(forward(*arrays), present, pullback)


def exact_tiling(size, kernel, stride, padding, what):
    """The check mygrad makes: windows must cover the padded input exactly."""
    if (size + 2 * padding - kernel) % stride:
        raise ValueError(f"{what}: Stride and kernel dimensions are incompatible")


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)
