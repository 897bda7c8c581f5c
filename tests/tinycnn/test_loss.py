"""SoftmaxCrossEntropy's numerical stability on extreme logits, against the float64 naive twin."""

import math

import numpy as np
import pytest

from tinycnn import SoftmaxCrossEntropy, softmax
from tinycnn import reference as ref

from .helpers import assert_close

EXTREME = [
    (np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]), np.array([0, 0])),  # one right, one very wrong
    (np.array([[1000.0, 1000.0, -1000.0]]), np.array([2])),
    (np.array([[-1000.0, -1000.0, -1000.0]]), np.array([1])),  # all tiny: exp underflows without the shift
    (np.array([[1e300, 0.0, -1e300]]), np.array([0])),
    (np.array([[700.0, 710.0, 720.0], [0.0, 1e-12, -1e-12]]), np.array([1, 2])),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("logits", "labels"), EXTREME)
def test_extreme_logits_give_finite_loss_and_the_reference_gradient(logits, labels, dtype):
    """Logits like +-1000 give a finite loss and gradient equal to the float64 naive log-sum-exp twin."""
    if dtype == np.float32 and np.max(np.abs(logits)) > 1e38:
        pytest.skip("1e300 is not a float32")
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits.astype(dtype), labels)
    gradient = loss.backward()
    expected_value, expected_gradient = ref.softmax_cross_entropy(logits, labels)
    assert math.isfinite(value)
    assert np.all(np.isfinite(gradient))
    assert gradient.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert value == pytest.approx(expected_value, rel=rtol)
    assert_close(gradient, expected_gradient, rtol)


def test_extreme_loss_values_by_hand():
    """Loss of [1000, -1000] is 0 for label 0 and 2000 for label 1 (to float64 precision)."""
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.array([[1000.0, -1000.0]]), np.array([0])) == 0.0
    np.testing.assert_array_equal(loss.backward(), [[0.0, 0.0]])
    assert loss.forward(np.array([[1000.0, -1000.0]]), np.array([1])) == 2000.0
    np.testing.assert_array_equal(loss.backward(), [[1.0, -1.0]])


def test_softmax_rows_sum_to_one_for_extreme_logits():
    """softmax is finite and sums to 1 per row for logits of +-1000."""
    probabilities = softmax(np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -1000.0]]))
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(probabilities[1], 1 / 3, rtol=1e-15)


def test_loss_does_not_modify_logits():
    """forward and backward leave the caller's logits untouched."""
    logits = np.random.default_rng(0).standard_normal((4, 5))
    copy = logits.copy()
    loss = SoftmaxCrossEntropy()
    loss.forward(logits, np.array([0, 1, 2, 3]))
    loss.backward()
    np.testing.assert_array_equal(logits, copy)
