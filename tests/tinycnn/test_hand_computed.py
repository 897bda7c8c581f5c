"""Hand-computed fixtures: tiny inputs whose outputs and gradients were worked out on paper.

Each fixture is checked against both the fast layer and the naive twin in tinycnn.reference, so
the oracle itself is pinned to arithmetic a reader can redo.
"""

import math

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, SoftmaxCrossEntropy
from tinycnn import reference as ref

# A 3x3 one-channel image and a 2x2 kernel, as (N, H, W, C) and (KH, KW, C_in, C_out).
IMAGE = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]).reshape(1, 3, 3, 1)
KERNEL = np.array([[1.0, 2], [3, 4]]).reshape(2, 2, 1, 1)
BIAS = np.array([0.5])


def conv_layer(strides, padding):
    layer = Conv2D(1, 2, strides=strides, padding=padding)
    layer.build((3, 3, 1), np.random.default_rng(0), np.float64)
    layer.params["kernel"][...] = KERNEL
    layer.params["bias"][...] = BIAS
    return layer


# y[oh, ow] = 1*x[oh, ow] + 2*x[oh, ow+1] + 3*x[oh+1, ow] + 4*x[oh+1, ow+1] + 0.5;
# "same" on 3x3 with a 2x2 kernel pads one row/column of zeros at the BOTTOM/RIGHT only
# (pad_total = 1, pad_top = 1 // 2 = 0), as TensorFlow does.
CONV_CASES = {
    ("valid", 1): [[37.5, 47.5], [67.5, 77.5]],
    ("same", 1): [[37.5, 47.5, 21.5], [67.5, 77.5, 33.5], [23.5, 26.5, 9.5]],
    ("same", 2): [[37.5, 21.5], [23.5, 9.5]],
    ("valid", 2): [[37.5]],
}


@pytest.mark.parametrize(("padding", "stride"), list(CONV_CASES))
def test_conv2d_forward_by_hand(padding, stride):
    """Conv2D and the naive twin give the hand-computed outputs, incl. TF 'same' padding at the bottom."""
    expected = np.array(CONV_CASES[padding, stride]).reshape(1, *np.shape(CONV_CASES[padding, stride]), 1)
    layer = conv_layer(stride, padding)
    np.testing.assert_array_equal(layer.forward(IMAGE), expected)
    np.testing.assert_array_equal(
        ref.conv2d_forward(IMAGE, KERNEL, BIAS, (stride, stride), padding), expected
    )


def test_conv2d_backward_by_hand():
    """Conv2D's dx, dkernel, dbias for dy = ones equal the sums worked out by hand."""
    dy = np.ones((1, 2, 2, 1))
    # dkernel[kh, kw] = sum of the 2x2 block of x starting at (kh, kw)
    expected_dkernel = np.array([[12.0, 16], [24, 28]]).reshape(2, 2, 1, 1)
    # dx[i, j] = sum of kernel taps that touch (i, j)
    expected_dx = np.array([[1.0, 3, 2], [4, 10, 6], [3, 7, 4]]).reshape(1, 3, 3, 1)
    layer = conv_layer(1, "valid")
    layer.forward(IMAGE)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx, expected_dx)
    np.testing.assert_array_equal(layer.grads["kernel"], expected_dkernel)
    np.testing.assert_array_equal(layer.grads["bias"], [4.0])
    ref_dx, ref_dkernel, ref_dbias = ref.conv2d_backward(IMAGE, KERNEL, dy, (1, 1), "valid")
    np.testing.assert_array_equal(ref_dx, expected_dx)
    np.testing.assert_array_equal(ref_dkernel, expected_dkernel)
    np.testing.assert_array_equal(ref_dbias, [4.0])


def test_conv2d_channels_by_hand():
    """Two input channels and two filters: each filter sums over channels with its own weights."""
    x = np.array([[[[1.0, 10.0]]]])  # (1, 1, 1, 2): one pixel, two channels
    kernel = np.array([[1.0, -1.0], [2.0, 0.5]]).reshape(1, 1, 2, 2)  # [ci, co]
    # filter 0: 1*1 + 10*2 = 21; filter 1: 1*(-1) + 10*0.5 = 4
    layer = Conv2D(2, 1)
    layer.build((1, 1, 2), np.random.default_rng(0), np.float64)
    layer.params["kernel"][...] = kernel
    np.testing.assert_array_equal(layer.forward(x), [[[[21.0, 4.0]]]])
    np.testing.assert_array_equal(ref.conv2d_forward(x, kernel, np.zeros(2)), [[[[21.0, 4.0]]]])


# Max pooling with ties: in every 2x2 window below, the maximum occurs more than once.
POOL_X = np.array([[1.0, 3, 2, 2], [3, 0, 2, 2], [5, 6, 7, 1], [0, 6, 8, 8]]).reshape(1, 4, 4, 1)


def test_maxpool_ties_first_in_row_major_order_wins():
    """With ties, the first maximum in row-major order is the argmax and takes the whole gradient."""
    layer = MaxPool2D(2)
    layer.build((4, 4, 1), None, np.float64)
    y = layer.forward(POOL_X)
    np.testing.assert_array_equal(y, np.array([[3.0, 2], [6, 8]]).reshape(1, 2, 2, 1))
    dx = layer.backward(np.array([[10.0, 20], [30, 40]]).reshape(1, 2, 2, 1))
    expected_dx = np.array([[0.0, 10, 20, 0], [0, 0, 0, 0], [0, 30, 0, 0], [0, 0, 40, 0]]).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(dx, expected_dx)
    ref_y, argmax = ref.maxpool_forward(POOL_X, 2)
    np.testing.assert_array_equal(argmax.reshape(2, 2), [[1, 0], [1, 2]])
    np.testing.assert_array_equal(ref_y, y)
    np.testing.assert_array_equal(
        ref.maxpool_backward(np.array([[10.0, 20], [30, 40]]).reshape(1, 2, 2, 1), argmax, POOL_X.shape, 2),
        expected_dx,
    )


def test_maxpool_overlapping_windows_add_up():
    """With stride 1 < pool 2, a position that wins two windows receives the sum of both gradients."""
    x = np.array([[1.0, 5, 2], [0, 3, 4]]).reshape(1, 2, 3, 1)
    layer = MaxPool2D(2, strides=1)
    layer.build((2, 3, 1), None, np.float64)
    np.testing.assert_array_equal(layer.forward(x), np.array([[5.0, 5.0]]).reshape(1, 1, 2, 1))
    dx = layer.backward(np.array([[1.0, 2.0]]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(dx, np.array([[0.0, 3, 0], [0, 0, 0]]).reshape(1, 2, 3, 1))


def test_maxpool_non_square_and_floor():
    """A (1, 3) pool on width 4 drops the last column (floor); ties in the row pick the first."""
    x = np.array([[1.0, 9, 3, 100], [4, 2, 4, -1]]).reshape(1, 2, 4, 1)
    layer = MaxPool2D((1, 3))
    layer.build((2, 4, 1), None, np.float64)
    np.testing.assert_array_equal(layer.forward(x), np.array([9.0, 4.0]).reshape(1, 2, 1, 1))
    dx = layer.backward(np.array([1.0, 2.0]).reshape(1, 2, 1, 1))
    np.testing.assert_array_equal(dx, np.array([[0.0, 1, 0, 0], [2, 0, 0, 0]]).reshape(1, 2, 4, 1))


def test_dense_by_hand():
    """Dense: y = x @ K + b, dx = dy @ K.T, dK = x.T @ dy, db = sum dy, on 2 inputs and 3 units."""
    x = np.array([[1.0, 2.0]])
    kernel = np.array([[1.0, 2, 3], [4, 5, 6]])
    bias = np.array([0.5, 0.0, -1.0])
    dy = np.array([[1.0, 0.0, -1.0]])
    layer = Dense(3)
    layer.build((2,), None, np.float64)
    layer.params["kernel"][...], layer.params["bias"][...] = kernel, bias
    np.testing.assert_array_equal(layer.forward(x), [[9.5, 12.0, 14.0]])
    np.testing.assert_array_equal(layer.backward(dy), [[-2.0, -2.0]])
    np.testing.assert_array_equal(layer.grads["kernel"], [[1.0, 0, -1], [2, 0, -2]])
    np.testing.assert_array_equal(layer.grads["bias"], [1.0, 0, -1])
    np.testing.assert_array_equal(ref.dense_forward(x, kernel, bias), [[9.5, 12.0, 14.0]])
    ref_dx, ref_dkernel, ref_dbias = ref.dense_backward(x, kernel, dy)
    np.testing.assert_array_equal(ref_dx, [[-2.0, -2.0]])
    np.testing.assert_array_equal(ref_dkernel, [[1.0, 0, -1], [2, 0, -2]])
    np.testing.assert_array_equal(ref_dbias, [1.0, 0, -1])


def test_relu_by_hand():
    """ReLU clips negatives; the gradient is 0 at x <= 0 (including exactly 0) and dy where x > 0."""
    x = np.array([[-2.0, -0.0, 0.0, 0.5, 3.0]])
    dy = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    layer = ReLU()
    np.testing.assert_array_equal(layer.forward(x), [[0.0, 0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(layer.backward(dy), [[0.0, 0.0, 0.0, 4.0, 5.0]])
    np.testing.assert_array_equal(ref.relu_forward(x), [[0.0, 0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(ref.relu_backward(x, dy), [[0.0, 0.0, 0.0, 4.0, 5.0]])


class FixedUniform:
    """A stand-in for a numpy Generator whose raw 64-bit outputs carry fixed 16-bit uniform draws
    u = k / 65536, four to a word, lowest bits first (what Dropout reads)."""

    def __init__(self, draws):
        self.draws = np.asarray(draws)
        self.bit_generator = self

    def random_raw(self, size):
        draws = np.zeros(4 * size, np.uint64)
        draws[: self.draws.size] = np.round(self.draws.ravel() * 65536)
        words = draws.reshape(size, 4) << np.array([0, 16, 32, 48], np.uint64)
        return np.bitwise_or.reduce(words, axis=1)


def test_dropout_with_known_mask():
    """Dropout(0.5) keeps positions whose uniform draw is >= 0.5 and scales them by 2; backward the same."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = Dropout(0.5)
    layer.build((2,), None, np.float64)
    layer.rng = FixedUniform([[0.1, 0.6], [0.5, 0.4]])  # keep: [[0, 1], [1, 0]] (0.5 itself is kept)
    np.testing.assert_array_equal(layer.forward(x, training=True), [[0.0, 4.0], [6.0, 0.0]])
    np.testing.assert_array_equal(layer.backward(np.ones((2, 2))), [[0.0, 2.0], [2.0, 0.0]])
    keep = np.array([[0, 1], [1, 0]], bool)
    np.testing.assert_array_equal(ref.dropout_forward(x, keep, 0.5), [[0.0, 4.0], [6.0, 0.0]])
    np.testing.assert_array_equal(ref.dropout_backward(np.ones((2, 2)), keep, 0.5), [[0.0, 2.0], [2.0, 0.0]])


def test_dropout_inference_is_identity():
    """Dropout in inference mode returns its input unchanged, and its backward passes dy through."""
    x = np.arange(6.0).reshape(2, 3)
    layer = Dropout(0.9)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * x)


def test_flatten_is_keras_nhwc_order():
    """Flatten joins (H, W, C) with channels fastest, then columns, then rows (Keras' NHWC order)."""
    h, w, c = np.meshgrid(np.arange(2), np.arange(2), np.arange(3), indexing="ij")
    x = (100.0 * h + 10.0 * w + c)[None]  # x[0, h, w, c] = 100h + 10w + c, shape (1, 2, 2, 3)
    expected = [[0.0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]]
    layer = Flatten()
    np.testing.assert_array_equal(layer.forward(x), expected)
    np.testing.assert_array_equal(layer.backward(np.array(expected)), x)
    np.testing.assert_array_equal(ref.flatten(x), expected)
    np.testing.assert_array_equal(ref.unflatten(np.array(expected), x.shape), x)


def test_softmax_cross_entropy_by_hand():
    """Loss = mean(log sum exp(z) - z[label]) and dL/dz = (softmax - onehot) / N, against math.log/exp."""
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    labels = np.array([2, 0])
    total = math.exp(1) + math.exp(2) + math.exp(3)
    expected_loss = ((math.log(total) - 3.0) + math.log(3.0)) / 2
    expected_gradient = (
        np.array(
            [
                [math.exp(1) / total, math.exp(2) / total, math.exp(3) / total - 1.0],
                [1 / 3 - 1.0, 1 / 3, 1 / 3],
            ]
        )
        / 2
    )
    loss = SoftmaxCrossEntropy()
    assert loss.forward(logits, labels) == pytest.approx(expected_loss, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), expected_gradient, rtol=1e-14, atol=1e-16)
    ref_loss, ref_gradient = ref.softmax_cross_entropy(logits, labels)
    assert ref_loss == pytest.approx(expected_loss, rel=1e-15)
    np.testing.assert_allclose(ref_gradient, expected_gradient, rtol=1e-14, atol=1e-16)


def test_softmax_cross_entropy_two_equal_logits_is_log_2():
    """Two equal logits give the loss log 2 and the gradient [-1/2, 1/2] for label 0."""
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.array([[7.0, 7.0]]), np.array([0])) == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[-0.5, 0.5]], rtol=1e-15)


def test_im2col_col2im_by_hand():
    """im2col of a 3x3 image with 2x2 windows lists each window (kh, kw) in a row; col2im counts overlaps."""
    cols = ref.im2col(IMAGE, (2, 2), (1, 1), 0, 0, 2, 2)
    np.testing.assert_array_equal(cols, [[1.0, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]])
    # Folding ones back counts how many windows cover each pixel.
    counts = ref.col2im(np.ones((4, 4)), (1, 3, 3, 1), (2, 2), (1, 1), 0, 0, 2, 2)
    np.testing.assert_array_equal(counts.reshape(3, 3), [[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])
