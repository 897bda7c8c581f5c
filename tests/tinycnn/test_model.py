"""Sequential as a whole: the reference network's summary, layer naming, shapes and dtypes."""

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from tinycnn.__main__ import reference_network


def test_reference_network_summary_total_params():
    """The HandDigit reference network has 2,380,938 parameters, as its Keras twin."""
    text = reference_network().summary_text()
    assert "Total params: 2,380,938" in text
    assert "Trainable params: 2,380,938" in text
    # conv 3*3*1*32+32, conv 3*3*32*64+64, dense 12*12*64*256+256, dense 256*10+10, worked out by hand
    assert reference_network().parameter_count == 320 + 18_496 + 2_359_552 + 2_570


def test_reference_network_shapes_and_names():
    """Output shapes follow 28 -> 26 -> 24 -> 12 and layers get Keras-style unique names."""
    model = reference_network()
    assert [layer.output_shape for layer in model.layers] == [
        (26, 26, 32), (26, 26, 32), (24, 24, 64), (24, 24, 64), (12, 12, 64), (12, 12, 64),
        (9216,), (256,), (256,), (256,), (10,),
    ]  # fmt: skip
    assert [layer.name for layer in model.layers] == [
        "conv2d", "re_lu", "conv2d_1", "re_lu_1", "max_pooling2d", "dropout", "flatten", "dense",
        "re_lu_2", "dropout_1", "dense_1",
    ]  # fmt: skip
    text = model.summary_text()
    assert "conv2d_1 (Conv2D)" in text and "(None, 24, 24, 64)" in text and "18,496" in text


def test_dtype_is_carried_through():
    """A float64 model keeps float64 params and outputs; float32 inputs are converted."""
    model = Sequential(
        [Conv2D(2, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3)],
        input_shape=(6, 6, 1),
        dtype=np.float64,
        seed=0,
    )
    assert all(p.dtype == np.float64 for layer in model.layers for p in layer.params.values())
    assert model.forward(np.zeros((2, 6, 6, 1), np.float32)).dtype == np.float64
    assert model.predict(np.zeros((2, 6, 6, 1), np.float32)).dtype == np.float64


def test_same_seed_same_weights():
    """Two models built with the same seed have identical weights; another seed differs."""
    a, b, c = (reference_network(seed=seed) for seed in (3, 3, 4))
    for key, value in a.get_weights().items():
        np.testing.assert_array_equal(value, b.get_weights()[key])
    assert not np.array_equal(a.get_weights()["conv2d/kernel"], c.get_weights()["conv2d/kernel"])


def test_get_weights_returns_copies():
    """Changing what get_weights returned does not change the model."""
    model = Sequential([Dense(2)], input_shape=(3,), seed=0)
    weights = model.get_weights()
    weights["dense/kernel"][...] = 42
    assert not np.any(model.layers[0].params["kernel"] == 42)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_glorot_uniform_limits(dtype):
    """Conv2D kernels start within Keras' Glorot limit sqrt(6 / (fan_in + fan_out)) and biases at zero."""
    model = Sequential([Conv2D(8, 3)], input_shape=(5, 5, 4), dtype=dtype, seed=0)
    kernel = model.layers[0].params["kernel"]
    limit = np.sqrt(6 / (3 * 3 * 4 + 3 * 3 * 8))
    assert kernel.dtype == dtype
    assert np.max(np.abs(kernel)) <= limit
    assert np.max(np.abs(kernel)) > 0.9 * limit
    np.testing.assert_array_equal(model.layers[0].params["bias"], 0)
