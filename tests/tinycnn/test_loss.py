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


def test_probability_targets_and_weights_against_finite_differences():
    """Soft targets (a uniform row, as outlier exposure trains an input of no class) and per-example
    weights: the loss is the weighted mean of -sum t log p, and backward its exact gradient."""
    from tinycnn.gradient_check import numerical_gradient, relative_error

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4))
    targets = np.eye(4)[[0, 3, 1, 2, 0]]
    targets[2] = 0.25  # no class: uniform
    weights = np.array([1.0, 0.5, 2.0, 0.0, 1.0])
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, targets, weights)
    log_p = np.log(softmax(logits))
    assert value == pytest.approx(np.mean(weights * -(targets * log_p).sum(axis=1)), rel=1e-12)
    gradient = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(logits, targets, weights), logits)
    assert relative_error(numeric, gradient, floor=1e-8) < 1e-7
    assert np.all(gradient[3] == 0)  # weight 0: no gradient
    # one-hot probabilities give exactly what integer labels give
    one_hot = SoftmaxCrossEntropy()
    integer = SoftmaxCrossEntropy()
    assert one_hot.forward(logits, np.eye(4)[[0, 3, 1, 2, 0]]) == pytest.approx(
        integer.forward(logits, np.array([0, 3, 1, 2, 0]))
    )
    np.testing.assert_allclose(one_hot.backward(), integer.backward(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("targets", "weights", "message"),
    [
        (np.full((2, 3), 0.5), None, "sum to 1"),
        (np.full((2, 4), 0.25), None, "logits' shape"),
        (np.array([[1.0, 0.0, 0.0], [np.nan, 0.5, 0.5]]), None, "sum to 1"),
        (np.array([0, 1]), np.array([1.0, -1.0]), "finite and >= 0"),
        (np.array([0, 1]), np.array([1.0]), r"weights must be numbers of shape \(2,\)"),
    ],
)
def test_bad_targets_and_weights_are_clear_errors(targets, weights, message):
    from tinycnn import ShapeError

    with pytest.raises(ShapeError, match=message):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), targets, weights)
