"""SGD with momentum and Adam take the same steps as torch.optim; He init and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from cnnref.train.layers import Conv2d, Dense, Parameter, layer_from_spec
from cnnref.train.model import Sequential, small_cnn
from cnnref.train.optim import SGD, Adam, Optimizer

STEPS = 5


def gradient_sequence(shape: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal(shape) for _ in range(STEPS)]


def run_ours(optimizer_type: type[Optimizer], start: np.ndarray, **settings) -> np.ndarray:
    parameter = Parameter(start.copy())
    optimizer = optimizer_type({"p": parameter}, **settings)
    for grad in gradient_sequence(start.shape):
        parameter.grad = grad
        optimizer.step()
    return parameter.value


def run_torch(name: str, start: np.ndarray, **settings) -> np.ndarray:
    import torch

    parameter = torch.nn.Parameter(torch.from_numpy(start.copy()))
    optimizer = getattr(torch.optim, name)([parameter], **settings)
    for grad in gradient_sequence(start.shape):
        parameter.grad = torch.from_numpy(grad)
        optimizer.step()
    return parameter.detach().numpy()


@pytest.mark.usefixtures("torch_required")
def test_sgd_with_momentum_matches_torch() -> None:
    start = np.random.default_rng(1).standard_normal((3, 4))
    ours = run_ours(SGD, start, lr=0.1, momentum=0.9)
    theirs = run_torch("SGD", start, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert not np.allclose(ours, start), "the optimizer did not move the parameter"


@pytest.mark.usefixtures("torch_required")
def test_adam_matches_torch() -> None:
    start = np.random.default_rng(1).standard_normal((3, 4))
    ours = run_ours(Adam, start, lr=0.01)
    theirs = run_torch("Adam", start, lr=0.01)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("optimizer_type", [SGD, Adam])
def test_optimizer_state_round_trips(optimizer_type: type[Optimizer]) -> None:
    start = np.ones((2, 2))
    first = optimizer_type({"p": Parameter(start.copy())}, lr=0.1)
    first.parameters["p"].grad = np.full((2, 2), 0.5)
    first.step()
    second = optimizer_type({"p": Parameter(first.parameters["p"].value.copy())}, lr=0.1)
    second.load_state(first.state())
    for optimizer in (first, second):
        optimizer.parameters["p"].grad = np.full((2, 2), -0.25)
        optimizer.step()
    np.testing.assert_array_equal(first.parameters["p"].value, second.parameters["p"].value)
    assert second.steps == 2, f"steps {second.steps}"


def test_a_non_positive_learning_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="learning rate must be > 0"):
        Adam({"p": Parameter(np.zeros(1))}, lr=0.0)


def test_he_initialisation_has_variance_two_over_fan_in() -> None:
    layer = Conv2d(16, 64, 5, rng=np.random.default_rng(0))
    fan_in = 16 * 5 * 5
    std = float(layer.weight.value.std())
    assert abs(std - np.sqrt(2 / fan_in)) < 0.02 * np.sqrt(2 / fan_in), f"std {std}"
    assert layer.weight.value.dtype == np.float32 and not layer.bias.value.any()
    dense = Dense(400, 300, rng=np.random.default_rng(0))
    assert abs(float(dense.weight.value.std()) - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)


def test_the_same_seed_builds_the_same_network_and_another_seed_does_not() -> None:
    def weights(seed: int) -> list[np.ndarray]:
        model = Sequential.from_spec(small_cnn(), np.random.default_rng(seed))
        return [p.value for p in model.parameters().values()]

    for a, b in zip(weights(7), weights(7)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights(7)[0], weights(8)[0])


def test_every_layer_rebuilds_from_its_spec() -> None:
    model = Sequential.from_spec(small_cnn())
    assert [layer_from_spec(s).spec() for s in model.spec()] == small_cnn()
    with pytest.raises(ValueError, match="unknown layer kind 'dropout'"):
        layer_from_spec({"layer": "dropout"})


def test_the_default_network_maps_a_digit_batch_to_ten_logits() -> None:
    model = Sequential.from_spec(small_cnn())
    logits = model.forward(np.zeros((3, 1, 28, 28), np.float32))
    assert logits.shape == (3, 10) and logits.dtype == np.float32, (logits.shape, logits.dtype)
