"""Metrics against hand-computed values."""

import numpy as np
import pytest

from handdigit.evaluation import confusion_matrix, precision_recall, reliability


def test_confusion_matrix_precision_and_recall_by_hand():
    true = [0, 0, 1, 1, 1, 2]
    predicted = [0, 1, 1, 1, 2, 2]
    matrix = confusion_matrix(true, predicted, classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    precision, recall = precision_recall(matrix)
    np.testing.assert_allclose(precision, [1 / 1, 2 / 3, 1 / 2])
    np.testing.assert_allclose(recall, [1 / 2, 2 / 3, 1 / 1])


def test_a_class_never_predicted_has_precision_zero_not_nan():
    precision, recall = precision_recall(confusion_matrix([0, 1], [0, 0], classes=2))
    assert precision.tolist() == [0.5, 0.0] and recall.tolist() == [1.0, 0.0]


def test_calibration_error_by_hand():
    """Two bins used: {0.95 x4, 3 right} and {0.55 x2, 2 right}: ECE = (4*0.2 + 2*0.45) / 6."""
    confidences = [0.95, 0.95, 0.95, 0.95, 0.55, 0.55]
    correct = [1, 1, 1, 0, 1, 1]
    ece, mean_confidence, accuracy, counts = reliability(confidences, correct, bins=10)
    assert ece == pytest.approx((4 * 0.2 + 2 * 0.45) / 6)
    assert counts.sum() == 6 and counts[9] == 4 and counts[5] == 2
    assert accuracy[9] == 0.75 and mean_confidence[5] == pytest.approx(0.55)


def test_perfectly_calibrated_predictions_have_zero_error():
    rng = np.random.default_rng(0)
    confidences = np.full(100000, 0.7)
    correct = rng.random(100000) < 0.7
    assert reliability(confidences, correct)[0] < 0.01


@pytest.mark.parametrize(("count", "confidence"), [(1000, 0.95), (4000, 0.95), (300, 0.7)])
def test_the_calibration_error_floor_is_what_a_calibrated_model_measures_on_that_many_inputs(
    count, confidence
):
    """All confidences equal: one bin, so a calibrated model's ECE is |k / n - c| with k right
    answers of n, k ~ Binomial(n, c); its mean, summed exactly over k, is the floor."""
    from scipy.stats import binom

    from handdigit.evaluation.metrics import calibration_error_floor

    k = np.arange(count + 1)
    exact = float(np.sum(binom.pmf(k, count, confidence) * np.abs(k / count - confidence)))
    assert calibration_error_floor(np.full(count, confidence)) == pytest.approx(exact, rel=0.1)
