"""Fake DeZero: ``Variable`` whose gradient is seeded through ``y.grad`` (a Variable), then
``y.backward()``; ``backward``'s first argument is ``retain_grad``, not dL/dY."""

import numpy as np
from fake_tape import Node


class Variable(Node):
    def store_grad(self, gradient):
        self.grad = Variable(gradient)

    def backward(self, retain_grad=False):
        seed = np.ones_like(self.data) if self.grad is None else self.grad.data
        self.backprop(seed)
