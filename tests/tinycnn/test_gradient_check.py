"""Centred finite differences (tinycnn.gradient_check) against every backward pass, in float64:
each layer as written, and as the fast engine runs it (chunks, fused steps, Winograd).

Inputs are random normal, so no value sits on a ReLU kink and no pooling window holds a tie; a
relative error below 1e-6 means the analytic gradient is right.
"""

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy
from tinycnn.gradient_check import numerical_gradient, relative_error

from .helpers import built

TOLERANCE = 1e-6

LAYERS = {
    "conv_valid": lambda: Conv2D(3, (2, 3)),
    "conv_same": lambda: Conv2D(2, 3, padding="same"),
    "conv_same_strided": lambda: Conv2D(2, (3, 2), strides=(2, 3), padding="same"),
    "conv_valid_strided": lambda: Conv2D(2, 2, strides=(2, 1)),
    "conv_winograd_valid": lambda: Conv2D(3, 3, algorithm="winograd"),
    "conv_winograd_same": lambda: Conv2D(2, 3, padding="same", algorithm="winograd"),
    "maxpool": lambda: MaxPool2D(2),
    "maxpool_overlapping": lambda: MaxPool2D((3, 2), strides=(1, 2)),
    "relu": lambda: ReLU(),
    "dropout": lambda: Dropout(0.4, seed=3),
    "flatten": lambda: Flatten(),
    "dense": lambda: Dense(4),
}
INPUT_SHAPES = {"dense": (6,)}
ENGINES = ["plain", "fast"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradients_match_finite_differences(name, engine):
    """dL/dx and dL/dparams of every layer match centred differences of L = sum(forward(x) * R):
    the layer as written, or alone in a model run by the fast engine."""
    layer = built(LAYERS[name](), INPUT_SHAPES.get(name, (5, 6, 2)), seed=1)
    runner = layer
    if engine == "fast":
        params = {key: value.copy() for key, value in layer.params.items()}
        runner = Sequential([layer], input_shape=layer.input_shape, dtype=np.float64)
        for key, value in params.items():
            layer.params[key][...] = value
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, *layer.input_shape))
    weights = rng.standard_normal((2, *layer.output_shape))
    training = isinstance(layer, Dropout)
    generator_state = layer.rng.bit_generator.state if training else None

    def loss():
        if training:  # the same dropout mask for every evaluation
            layer.rng.bit_generator.state = generator_state
        return float(np.sum(runner.forward(x, training=training) * weights))

    loss()
    dx = runner.backward(weights)
    analytic = {key: gradient.copy() for key, gradient in layer.grads.items()}
    assert relative_error(numerical_gradient(loss, x), dx) < TOLERANCE
    for key, param in layer.params.items():
        assert relative_error(numerical_gradient(loss, param), analytic[key]) < TOLERANCE, key


@pytest.mark.parametrize("engine", ENGINES)
def test_network_gradients_match_finite_differences(engine):
    """A small network (conv same + valid, strides, pool, dropout in training, dense; a 3x3 conv
    over 8 channels that the fast engine runs by Winograd) passes the check under either engine."""
    model = Sequential(
        [Conv2D(8, 3, padding="same"), ReLU(), Conv2D(3, 3, padding="same", algorithm="winograd"), ReLU(),
         MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)), ReLU(),
         Dropout(0.3), Flatten(), Dense(8), ReLU(), Dropout(0.5), Dense(5)],
        input_shape=(8, 9, 2), dtype=np.float64, seed=1, engine=engine,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][...] = 0.1 * rng.standard_normal(layer.params["bias"].shape)
    x, labels = rng.standard_normal((3, 8, 9, 2)), rng.integers(0, 5, 3)
    loss = SoftmaxCrossEntropy()
    masks = model.rng_state()  # replaying the generators replays the dropout masks

    def loss_value():
        model.set_rng_state(masks)
        return loss.forward(model.forward(x, training=True), labels)

    loss_value()
    dx = model.backward(loss.backward())
    analytic = {(layer.name, key): g.copy() for layer in model.layers for key, g in layer.grads.items()}
    # Some inputs and weights cannot reach the loss (a pool drops the last column): their gradient
    # is 0, which Winograd's transforms give as ~1e-19 and the differences as ~2e-11 of noise.
    floor = 1e-4
    assert relative_error(numerical_gradient(loss_value, x), dx, floor) < TOLERANCE
    for layer in model.layers:
        for key, param in layer.params.items():
            error = relative_error(numerical_gradient(loss_value, param), analytic[layer.name, key], floor)
            assert error < TOLERANCE, f"{layer.name}/{key}: {error:.2e}"


def test_relative_error_floor_compares_tiny_entries_by_their_absolute_difference():
    """Where the true gradient is 0, differences give noise (~2e-11) and backward float rounding
    (~1e-19): elementwise they are 100% apart; above a floor, they are 2e-11 / floor apart."""
    noise, rounding = np.array([2e-11, 0.5]), np.array([1e-19, 0.5])
    assert relative_error(noise, rounding) == pytest.approx(1.0)
    assert relative_error(noise, rounding, floor=1e-4) == pytest.approx(2e-7)
    assert relative_error(np.array([1.0]), np.array([2.0]), floor=1e-4) == pytest.approx(1 / 3)
