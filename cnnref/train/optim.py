"""SGD with momentum and Adam, updating a model's named parameters in place.

An optimizer's whole state is ``state()``: named arrays plus a step count,
so a checkpoint that stores it lets a resumed run take bit-for-bit the same
steps as one that never stopped.
"""

from __future__ import annotations

import numpy as np

from .layers import Parameter


class Optimizer:
    """Updates ``parameters`` from the gradients the last backward pass left in them."""

    kind = ""

    def __init__(self, parameters: dict[str, Parameter], lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0; got {lr!r}")
        self.parameters = parameters
        self.lr = lr
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        for name, parameter in self.parameters.items():
            parameter.value -= self.update(name, parameter.grad).astype(
                parameter.value.dtype, copy=False
            )

    def update(self, name: str, grad: np.ndarray) -> np.ndarray:
        """The amount to subtract from parameter ``name``, given its gradient."""
        raise NotImplementedError

    def buffers(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-kind state arrays: ``{buffer name: {parameter name: array}}``."""
        return {}

    def state(self) -> dict[str, np.ndarray]:
        """Every array the next step depends on, under flat names."""
        flat = {"steps": np.array(self.steps)}
        for buffer, arrays in self.buffers().items():
            flat.update({f"{buffer}/{name}": array for name, array in arrays.items()})
        return flat

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state()`` returned (the parameter names must match)."""
        self.steps = int(state["steps"])
        for buffer, arrays in self.buffers().items():
            for name in arrays:
                key = f"{buffer}/{name}"
                if key not in state:
                    raise ValueError(f"optimizer state has no {key!r}")
                arrays[name][...] = state[key]


class SGD(Optimizer):
    """``v = momentum * v + g;  p -= lr * v`` (PyTorch's form of momentum)."""

    kind = "sgd"

    def __init__(self, parameters: dict[str, Parameter], lr: float, momentum: float = 0.9) -> None:
        super().__init__(parameters, lr)
        self.momentum = momentum
        self.velocity = {name: np.zeros_like(p.value) for name, p in parameters.items()}

    def update(self, name: str, grad: np.ndarray) -> np.ndarray:
        velocity = self.velocity[name]
        velocity *= self.momentum
        velocity += grad
        return self.lr * velocity

    def buffers(self) -> dict[str, dict[str, np.ndarray]]:
        return {"velocity": self.velocity}


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps scaled by bias-corrected running moments of the gradient."""

    kind = "adam"

    def __init__(
        self,
        parameters: dict[str, Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(parameters, lr)
        self.betas = betas
        self.eps = eps
        self.first_moment = {name: np.zeros_like(p.value) for name, p in parameters.items()}
        self.second_moment = {name: np.zeros_like(p.value) for name, p in parameters.items()}

    def update(self, name: str, grad: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        m, v = self.first_moment[name], self.second_moment[name]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**self.steps)
        v_hat = v / (1 - beta2**self.steps)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def buffers(self) -> dict[str, dict[str, np.ndarray]]:
        return {"first_moment": self.first_moment, "second_moment": self.second_moment}


OPTIMIZERS: dict[str, type[Optimizer]] = {kind.kind: kind for kind in (SGD, Adam)}
