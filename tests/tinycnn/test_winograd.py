"""Winograd's F(4x4, 3x3) in the fast engine: the transform matrices, when it is used, and its
results in the float32 training path against im2col's."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinycnn import (
    Conv2D,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    settings,
    winograd,
)
from tinycnn.engine.convolution import choose_algorithm

from .helpers import assert_close, built


def algorithm_in_use(layer, n_images):
    return choose_algorithm(layer, n_images, settings.current().conv_algorithm)


@given(seed=st.integers(0, 2**32 - 1))
def test_matrices_compute_a_one_dimensional_correlation(seed):
    """A^T [(G g) * (B^T d)] = the four outputs of correlating 6 inputs d with a 3-tap filter g."""
    rng = np.random.default_rng(seed)
    d, g = rng.standard_normal(6), rng.standard_normal(3)
    got = winograd.OUTPUT_TRANSFORM @ ((winograd.KERNEL_TRANSFORM @ g) * (winograd.INPUT_TRANSFORM @ d))
    expected = [d[i : i + 3] @ g for i in range(4)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_kernel_gradient_is_the_adjoint_of_transform_kernel():
    """<U(g), W> = <g, U^T(W)>: kernel_gradient is transform_kernel's adjoint (what backward needs)."""
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 4, 5))
    weights = rng.standard_normal((36, 4, 5))
    gradient = winograd.kernel_gradient(weights.transpose(0, 2, 1), np.empty_like(kernel))
    assert np.sum(winograd.transform_kernel(kernel) * weights) == pytest.approx(np.sum(kernel * gradient))


@pytest.mark.parametrize(
    "layer, channels, expected",
    [
        (lambda: Conv2D(64, 3), 32, "winograd"),
        (lambda: Conv2D(64, 3, padding="same"), 8, "winograd"),
        (lambda: Conv2D(32, 3), 1, "im2col"),  # too thin for 36 products
        (lambda: Conv2D(8, 3, strides=2), 32, "im2col"),
        (lambda: Conv2D(8, (3, 2)), 32, "im2col"),
        (lambda: Conv2D(8, 3, algorithm="im2col"), 32, "im2col"),
        (lambda: Conv2D(8, 3, algorithm="winograd"), 1, "winograd"),
    ],
)
def test_which_algorithm_a_layer_uses(layer, channels, expected):
    assert algorithm_in_use(built(layer(), (10, 10, channels)), 128) == expected


def test_small_batches_use_im2col_unless_asked():
    """One image (the widget's case) is faster by im2col; a layer pinned to Winograd keeps it."""
    auto, pinned = built(Conv2D(8, 3), (10, 10, 32)), built(Conv2D(8, 3, algorithm="winograd"), (10, 10, 32))
    assert [algorithm_in_use(auto, n) for n in (1, 7, 8)] == ["im2col", "im2col", "winograd"]
    assert algorithm_in_use(pinned, 1) == "winograd"


def test_the_setting_overrides_auto_only():
    auto, pinned = built(Conv2D(8, 3), (10, 10, 32)), built(Conv2D(8, 3, algorithm="winograd"), (10, 10, 32))
    strided = built(Conv2D(8, 3, strides=2), (10, 10, 32))
    with settings.use(conv_algorithm="im2col"):
        assert (algorithm_in_use(auto, 128), algorithm_in_use(pinned, 128)) == ("im2col", "winograd")
    with settings.use(conv_algorithm="winograd"):
        assert (algorithm_in_use(auto, 1), algorithm_in_use(strided, 128)) == ("winograd", "im2col")


def test_bad_algorithm_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        Conv2D(8, 3, algorithm="fft")
    with pytest.raises(ValueError, match="needs a 3x3 kernel with stride 1"):
        Conv2D(8, 3, strides=2, algorithm="winograd")
    with pytest.raises(ValueError, match="needs a 3x3 kernel with stride 1"):
        Conv2D(8, (3, 5), algorithm="winograd")


def test_algorithm_round_trips_through_the_config():
    assert "algorithm" not in Conv2D(8, 3).get_config()  # "auto" files stay as they were
    assert Conv2D(**Conv2D(8, 3, algorithm="im2col").get_config()).algorithm == "im2col"


@pytest.mark.parametrize("algorithm", ["winograd", "im2col"])
def test_backward_after_an_inference_forward_is_a_clear_error(algorithm):
    """Each forward replaces what the last one kept, in a fused step as in a layer: after a
    keep=False forward (model.predict) backward has nothing of its own to use and says so."""
    model = Sequential([Conv2D(8, 3), ReLU(), Conv2D(8, 3), ReLU(), MaxPool2D(2)], input_shape=(12, 12, 8))
    x = np.random.default_rng(1).standard_normal((2, 12, 12, 8)).astype(np.float32)
    dy = np.ones((2, *model.output_shape), np.float32)
    with settings.use(conv_algorithm=algorithm):
        model.forward(x, training=True)
        model.backward(dy)
        model.forward(x, training=True)
        model.predict(x)
        with pytest.raises(RuntimeError, match="backward needs a forward"):
            model.backward(dy)


def test_reference_network_in_float32_by_winograd_or_im2col():
    """A training step of the reference network (fused, a full batch, several chunks) gives the same
    logits, loss and gradients by either algorithm, to float32 accuracy."""
    results = {}
    x = np.random.default_rng(4).random((128, 28, 28, 1), dtype=np.float32)
    labels = np.random.default_rng(5).integers(0, 10, 128)
    for algorithm in ("im2col", "winograd"):
        layers = [
            Conv2D(32, 3),
            ReLU(),
            Conv2D(64, 3),
            ReLU(),
            MaxPool2D(2),
            Dropout(0.25, seed=9),
            Flatten(),
        ]
        model = Sequential(layers, input_shape=(28, 28, 1), seed=3)
        with settings.use(conv_algorithm=algorithm):
            assert algorithm_in_use(model.layers[2], 128) == algorithm
            loss = SoftmaxCrossEntropy()
            logits = model.forward(x, training=True)[:, :10] * 0.01
            value = loss.forward(np.ascontiguousarray(logits), labels)
            dlogits = np.zeros((128, model.output_shape[0]), np.float32)
            dlogits[:, :10] = loss.backward() * 0.01
            model.backward(dlogits)
        results[algorithm] = (logits, value, {key: g.copy() for key, g in model.layers[2].grads.items()})
        results[algorithm][2]["first_kernel"] = model.layers[0].grads["kernel"].copy()
    (logits, value, grads), (logits_w, value_w, grads_w) = results["im2col"], results["winograd"]
    assert_close(logits_w, logits, 1e-5)
    assert value_w == pytest.approx(value, rel=1e-5)
    for key in grads:
        assert_close(grads_w[key], grads[key], 1e-4)
