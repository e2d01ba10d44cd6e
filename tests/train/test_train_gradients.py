"""Dense, the loss and a whole small network agree with central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnref.oracles.finite_differences import directional_derivative, numerical_gradient, pointwise
from cnnref.train.layers import Dense, Flatten, MaxPool2d, ReLU
from cnnref.train.losses import log_softmax, softmax_cross_entropy
from cnnref.train.model import Sequential

EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-8


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    error = np.max(np.abs(actual - expected))
    assert np.allclose(actual, expected, rtol=RTOL, atol=ATOL), f"{what}: max |error| {error:.3g}"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20)


def test_dense_input_weight_and_bias_gradients(rng: np.random.Generator) -> None:
    layer = Dense(5, 3, rng=rng, dtype=np.float64)
    layer.bias.value = rng.standard_normal(3)
    x = rng.standard_normal((4, 5))
    dy = rng.standard_normal((4, 3))
    layer.forward(x)
    dx = layer.backward(dy)

    def with_weight(w: np.ndarray) -> np.ndarray:
        return x @ w.T + layer.bias.value

    def with_bias(b: np.ndarray) -> np.ndarray:
        return x @ layer.weight.value.T + b

    assert_close(dx, numerical_gradient(pointwise(layer.forward), x, dy, eps=EPS), "dL/dx")
    assert_close(
        layer.weight.grad,
        numerical_gradient(pointwise(with_weight), layer.weight.value, dy, eps=EPS),
        "dL/dW",
    )
    assert_close(
        layer.bias.grad,
        numerical_gradient(pointwise(with_bias), layer.bias.value, dy, eps=EPS),
        "dL/db",
    )


def test_dense_matches_the_definition_of_torch_linear(rng: np.random.Generator) -> None:
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3))
    expected = np.einsum("ni,oi->no", x, layer.weight.value) + layer.bias.value
    assert_close(layer.forward(x), expected, "Dense forward")


def test_softmax_cross_entropy_gradient(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((6, 10)) * 3
    labels = rng.integers(0, 10, size=6)
    _, gradient = softmax_cross_entropy(logits, labels)

    def loss(z: np.ndarray) -> np.ndarray:
        return np.array(softmax_cross_entropy(z, labels)[0])

    assert_close(
        gradient, numerical_gradient(pointwise(loss), logits, np.array(1.0), eps=EPS), "dL/dlogits"
    )


def test_softmax_cross_entropy_equals_the_textbook_formula(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[np.arange(5), labels]))
    loss, _ = softmax_cross_entropy(logits, labels)
    assert abs(loss - expected) < 1e-12, f"loss {loss} != {expected}"


def test_huge_logits_neither_overflow_nor_lose_the_answer() -> None:
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 2.0]], dtype=np.float32)
    labels = np.array([1, 2])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        loss, gradient = softmax_cross_entropy(logits, labels)
    # Row 1: -log softmax = 1e4 exactly; row 2: log(1 + e^2) - (-2) + ... = 2 + log(1 + e^-2).
    expected = (1e4 + 2.0 + np.log1p(np.exp(-2.0))) / 2
    assert np.isfinite(gradient).all(), f"gradient {gradient}"
    assert abs(loss - expected) < 1e-3, f"loss {loss}, expected {expected}"
    assert gradient.dtype == np.float32, f"gradient dtype {gradient.dtype}"


def test_equal_logits_cost_log_of_the_class_count() -> None:
    loss, _ = softmax_cross_entropy(np.zeros((3, 10)), np.array([0, 5, 9]))
    assert abs(loss - np.log(10)) < 1e-12, f"loss {loss}"
    np.testing.assert_allclose(np.exp(log_softmax(np.zeros((1, 4)))), 0.25)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 10]), r"labels must lie in \[0, 10\)"),
        (np.array([0]), r"labels must have shape \(2,\)"),
        (np.array([0.0, 1.0]), "labels must be integers"),
    ],
)
def test_bad_labels_are_named(labels: np.ndarray, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        softmax_cross_entropy(np.zeros((2, 10)), labels)


def tiny_network(rng: np.random.Generator) -> Sequential:
    """conv-relu-pool then dense, small enough for an element-by-element check."""
    spec = [
        {"layer": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"layer": "relu"},
        {"layer": "max_pool2d", "kernel_size": 2},
        {"layer": "flatten"},
        {"layer": "dense", "in_features": 3 * 3 * 3, "out_features": 4},
    ]
    model = Sequential.from_spec(spec, rng, dtype=np.float64)
    for parameter in model.parameters().values():  # nonzero biases, so they matter
        parameter.value += 0.1 * rng.standard_normal(parameter.value.shape)
    return model


def test_a_whole_network_backward_agrees_with_finite_differences(
    rng: np.random.Generator,
) -> None:
    model = tiny_network(rng)
    x = rng.standard_normal((2, 2, 6, 6))
    labels = np.array([1, 3])

    def loss_of_input(inputs: np.ndarray) -> np.ndarray:
        return np.array(softmax_cross_entropy(model.forward(inputs), labels)[0])

    _, dlogits = softmax_cross_entropy(model.forward(x), labels)
    dx = model.backward(dlogits)
    grads = {name: p.grad.copy() for name, p in model.parameters().items()}

    for name, parameter in model.parameters().items():
        original = parameter.value.copy()

        def loss_of_parameter(value: np.ndarray, parameter=parameter) -> np.ndarray:
            parameter.value = value
            return loss_of_input(x)

        numeric = numerical_gradient(pointwise(loss_of_parameter), original, np.array(1.0), eps=EPS)
        parameter.value = original
        assert_close(grads[name], numeric, f"dL/d{name}")

    direction = rng.choice([-1.0, 1.0], size=x.shape)
    numeric = directional_derivative(pointwise(loss_of_input), x, np.array(1.0), direction, eps=EPS)
    analytic = float(np.vdot(dx, direction))
    assert abs(analytic - numeric) < 1e-6 * max(1.0, abs(numeric)), f"{analytic} vs {numeric}"


def test_relu_passes_the_gradient_only_where_the_input_was_positive() -> None:
    relu = ReLU()
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 6.0, 7.0]])), [[0.0, 0.0, 7.0]])


def test_maxpool_layer_routes_to_the_argmax_and_flatten_round_trips() -> None:
    pool, flatten = MaxPool2d(2), Flatten()
    x = np.array([[[[1.0, 4.0], [3.0, 2.0]]]])
    assert flatten.forward(pool.forward(x)).shape == (1, 1)
    dx = pool.backward(flatten.backward(np.array([[10.0]])))
    np.testing.assert_array_equal(dx, [[[[0.0, 10.0], [0.0, 0.0]]]])


def test_training_skips_the_first_layers_input_gradient_and_nothing_else(
    rng: np.random.Generator,
) -> None:
    """``backward(dy, need_dx=False)``, as a training step runs it: the parameters' gradients
    are exactly those of a full backward, and no dL/dx is computed for the images."""
    model = tiny_network(rng)
    x = rng.standard_normal((2, 2, 6, 6))
    _, dlogits = softmax_cross_entropy(model.forward(x), np.array([1, 3]))
    assert model.backward(dlogits) is not None
    full = {name: p.grad.copy() for name, p in model.parameters().items()}
    assert model.backward(dlogits, need_dx=False) is None
    for name, parameter in model.parameters().items():
        np.testing.assert_array_equal(parameter.grad, full[name], err_msg=name)
