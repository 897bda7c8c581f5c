"""Bad inputs and bad arguments fail early with errors that name the layer and what was expected."""

import re

import numpy as np
import pytest

from tinycnn import (
    SGD,
    Adadelta,
    Adam,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    ShapeError,
    SoftmaxCrossEntropy,
)


def model():
    return Sequential([Conv2D(2, 3, name="first"), ReLU(), Flatten(), Dense(3)], input_shape=(5, 6, 1))


def test_shape_error_is_a_value_error():
    """ShapeError subclasses ValueError, so generic handlers still catch it."""
    assert issubclass(ShapeError, ValueError)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (
            np.zeros((5, 6, 2)),
            "Conv2D 'c': expected input of shape (N, 5, 6, 2), got (5, 6, 2)",
        ),  # no batch axis
        (np.zeros((1, 1, 5, 6, 2)), "Conv2D 'c': expected input of shape (N, 5, 6, 2), got (1, 1, 5, 6, 2)"),
        (
            np.zeros((1, 5, 6, 3)),
            "Conv2D 'c': expected input of shape (N, 5, 6, 2), got (1, 5, 6, 3)",
        ),  # channels
        (
            np.zeros((1, 6, 5, 2)),
            "Conv2D 'c': expected input of shape (N, 5, 6, 2), got (1, 6, 5, 2)",
        ),  # H <-> W
        (np.zeros((1, 5, 6, 2), np.int64), "Conv2D 'c': expected floating-point input, got dtype int64"),
        (np.zeros((1, 5, 6, 2), np.uint8), "Conv2D 'c': expected floating-point input, got dtype uint8"),
        ([[0.0]], "Conv2D 'c': expected a NumPy array, got list"),
    ],
)
def test_layer_rejects_bad_input(x, message):
    """A built layer raises ShapeError naming itself and the expected (N, H, W, C) shape."""
    layer = Conv2D(4, 3, name="c")
    layer.build((5, 6, 2), None, np.float32)
    with pytest.raises(ShapeError, match=re.escape(message)):
        layer.forward(x)


def test_model_rejects_bad_input():
    """Sequential checks the input shape against input_shape and rejects integer images."""
    with pytest.raises(
        ShapeError, match=re.escape("sequential: expected input of shape (N, 5, 6, 1), got (2, 5, 6)")
    ):
        model().forward(np.zeros((2, 5, 6)))
    with pytest.raises(ShapeError, match=re.escape("sequential: expected input of shape (N, 5, 6, 1)")):
        model().predict(np.zeros((2, 6, 5, 1)))
    for engine in ("fast", "plain"):
        network = model()
        network.engine = engine
        with pytest.raises(ShapeError, match="sequential: expected floating-point input, got dtype uint8"):
            network.forward(np.zeros((2, 5, 6, 1), np.uint8))
        with pytest.raises(ShapeError, match="sequential: expected floating-point input, got dtype int64"):
            network.predict(np.zeros((2, 5, 6, 1), np.int64))


@pytest.mark.parametrize(
    ("layers", "input_shape", "message"),
    [
        ([Conv2D(4, 3)], (2, 5, 1), "Conv2D 'conv2d': a 3x3 kernel does not fit input (N, 2, 5, 1) with padding='valid'"),
        ([Conv2D(4, (2, 4))], (5, 3, 1), "Conv2D 'conv2d': a 2x4 kernel does not fit input (N, 5, 3, 1)"),
        ([MaxPool2D(3)], (2, 5, 1), "MaxPool2D 'max_pooling2d': a 3x3 pool does not fit input (N, 2, 5, 1)"),
        ([Conv2D(4, 3), MaxPool2D((1, 4))], (5, 5, 1), "MaxPool2D 'max_pooling2d': a 1x4 pool does not fit input (N, 3, 3, 4)"),
        ([Conv2D(4, 3)], (5, 5), "Conv2D 'conv2d': expects images (N, H, W, C), got per-example shape (5, 5)"),
        ([MaxPool2D(2)], (4, 4, 1, 1), "MaxPool2D 'max_pooling2d': expects images (N, H, W, C)"),
        ([Dense(3)], (2, 5, 1), "Dense 'dense': expects flat vectors (N, D), got per-example shape (2, 5, 1)"),
    ],
)  # fmt: skip
def test_architecture_that_does_not_fit_is_rejected_at_build(layers, input_shape, message):
    """A kernel or pool larger than its ("valid") input, or a wrong rank, fails when the model is built."""
    with pytest.raises(ShapeError, match=re.escape(message)):
        Sequential(layers, input_shape=input_shape)


def test_same_padding_fits_any_input():
    """With padding='same' a kernel larger than the image is fine: the output is ceil(H / stride)."""
    net = Sequential([Conv2D(2, 5, strides=2, padding="same")], input_shape=(2, 3, 1), dtype=np.float64)
    assert net.output_shape == (1, 2, 2)


def test_backward_rejects_a_gradient_of_the_wrong_shape():
    """backward with dy of the wrong per-example shape raises ShapeError naming the layer and shape."""
    layer = Dense(3, name="head")
    layer.build((4,), None, np.float64)
    layer.forward(np.zeros((2, 4)))
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "Dense 'head': backward expected a gradient of shape (2, 3) (the last forward's output), got (2, 4)"
        ),
    ):
        layer.backward(np.zeros((2, 4)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2D(0, 3), "Conv2D: filters must be a positive int, got 0"),
        (lambda: Conv2D(2.0, 3), "Conv2D: filters must be a positive int, got 2.0"),
        (lambda: Conv2D(True, 3), "Conv2D: filters must be a positive int, got True"),
        (lambda: Conv2D(2, 0), "Conv2D: kernel_size must be a positive int or a pair of positive ints"),
        (lambda: Conv2D(2, (3,)), "Conv2D: kernel_size must be a positive int or a pair of positive ints, got (3,)"),
        (lambda: Conv2D(2, (3, 3, 3)), "Conv2D: kernel_size must be"),
        (lambda: Conv2D(2, 3, strides=(1, 0)), "Conv2D: strides must be a positive int or a pair of positive ints"),
        (lambda: Conv2D(2, 3, strides=1.5), "Conv2D: strides must be"),
        (lambda: Conv2D(2, 3, padding="full"), "Conv2D: padding must be one of ('valid', 'same'), got 'full'"),
        (lambda: Conv2D(2, 3, kernel_initializer="ones"), "unknown initializer 'ones'"),
        (lambda: Dense(0), "Dense: units must be a positive int, got 0"),
        (lambda: Dense(2.5), "Dense: units must be a positive int, got 2.5"),
        (lambda: Dropout(1.0), "Dropout: rate (the fraction dropped) must be in [0, 1), got 1.0"),
        (lambda: Dropout(-0.1), "Dropout: rate (the fraction dropped) must be in [0, 1), got -0.1"),
        (lambda: Dropout("0.5"), "Dropout: rate"),
        (lambda: MaxPool2D(0), "MaxPool2D: pool_size must be a positive int or a pair of positive ints"),
        (lambda: MaxPool2D(2, strides=0), "MaxPool2D: strides must be"),
        (lambda: MaxPool2D((2, 2, 2)), "MaxPool2D: pool_size must be"),
        (lambda: Sequential([Dense(2)], input_shape=(3,), dtype=np.float16), "dtype must be float32 or float64"),
        (lambda: Sequential([Dense(2, name="a"), Dense(2, name="a")], input_shape=(3,)), "layer names must be unique"),
        (lambda: SGD(learning_rate=0), "learning_rate must be a number > 0, got 0"),
        (lambda: SGD(learning_rate=-1.0), "learning_rate must be a number > 0"),
        (lambda: SGD(momentum=1.0), "SGD: momentum must be in [0, 1), got 1.0"),
        (lambda: SGD(nesterov=True), "SGD: nesterov=True needs a momentum > 0"),
        (lambda: SGD(weight_decay=-1), "SGD: weight_decay must be a number >= 0, got -1"),
        (lambda: Adam(beta_1=1.0), "Adam: beta_1 must be in [0, 1), got 1.0"),
        (lambda: Adam(beta_2=-0.5), "Adam: beta_2 must be in [0, 1)"),
        (lambda: Adam(epsilon=0), "Adam: epsilon must be a number > 0, got 0"),
        (lambda: Adadelta(rho=-0.1), "Adadelta: rho must be in [0, 1), got -0.1"),
    ],
)  # fmt: skip
def test_bad_constructor_arguments(make, message):
    """Invalid constructor arguments raise ValueError with a message saying what is allowed."""
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_sequential_rejects_non_layers_and_reused_layers():
    """Sequential raises TypeError for a non-layer item and ValueError for one layer object used twice."""
    with pytest.raises(TypeError, match="Sequential: item 1 is int, not a tinycnn layer"):
        Sequential([Dense(2), 3], input_shape=(3,))
    dense = Dense(2)
    with pytest.raises(ValueError, match="the same layer object appears twice"):
        Sequential([dense, dense], input_shape=(3,))


def test_predict_rejects_bad_batch_size():
    """predict(batch_size=0) raises ValueError."""
    with pytest.raises(ValueError, match="predict: batch_size must be a positive int, got 0"):
        model().predict(np.zeros((2, 5, 6, 1), np.float32), batch_size=0)


@pytest.mark.parametrize(
    ("logits", "labels", "message"),
    [
        (np.zeros((2, 3)), np.array([0, 3]), "labels must lie in [0, 3), got values from 0 to 3"),
        (np.zeros((2, 3)), np.array([-1, 0]), "labels must lie in [0, 3), got values from -1 to 0"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels must be integer classes, got dtype float64"),
        (np.zeros((2, 3)), np.array([0]), "expected labels of shape (2,) for logits (2, 3), got (1,)"),
        (
            np.zeros((2, 3)),
            np.array([[0], [1]]),
            "expected labels of shape (2,) for logits (2, 3), got (2, 1)",
        ),
        (
            np.zeros(3),
            np.array([0]),
            "expected float logits of shape (N, K), got float64 array of shape (3,)",
        ),
        (
            np.zeros((2, 3), np.int64),
            np.array([0, 1]),
            "expected float logits of shape (N, K), got int64 array",
        ),
        ([[0.0, 1.0]], np.array([0]), "expected float logits of shape (N, K), got list"),
        (np.zeros((0, 3)), np.array([], np.int64), "empty batch"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_labels_and_logits(logits, labels, message):
    """SoftmaxCrossEntropy raises ShapeError for labels out of range, of a float dtype or a wrong shape."""
    with pytest.raises(ShapeError, match="SoftmaxCrossEntropy: " + re.escape(message)):
        SoftmaxCrossEntropy().forward(logits, labels)


def test_softmax_cross_entropy_backward_needs_forward():
    """SoftmaxCrossEntropy.backward without a forward (or twice) raises RuntimeError."""
    loss = SoftmaxCrossEntropy()
    with pytest.raises(RuntimeError, match="SoftmaxCrossEntropy: backward needs a forward first"):
        loss.backward()
    loss.forward(np.zeros((1, 2)), np.array([0]))
    loss.backward()
    with pytest.raises(RuntimeError, match="backward needs a forward first"):
        loss.backward()
