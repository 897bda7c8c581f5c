"""The not-a-digit head: an eleven-output network is shipped as the seed's ten-output one plus a
validated head, and put back together exactly; files without a head load as before."""

import numpy as np
import pytest

from handdigit.architecture import PARAMETER_COUNT, build_model
from handdigit.recognition.calibration import Calibration, save_with_calibration
from handdigit.recognition.head import BIAS, KERNEL, load_network, read_head, split_head
from handdigit.recognition.recognizer import Recognizer
from handdigit.training.trainer import training_targets
from tinycnn import Sequential
from tinycnn.errors import WeightsFileError

ODDS = Calibration(temperature=1.5, score="digit-odds", threshold=0.0)


@pytest.fixture
def whole():
    """An eleven-output network with a recognisable not-a-digit column."""
    model = build_model(seed=3, not_a_digit_output=True)
    weights = model.get_weights()
    weights["dense_1/bias"][10] = 0.75
    model.set_weights(weights)
    return model


@pytest.fixture
def images():
    return np.random.default_rng(0).random((6, 28, 28, 1)).astype(np.float32)


def test_the_shipped_file_is_the_seed_network_plus_a_head_and_loads_back_whole(tmp_path, whole, images):
    path = tmp_path / "w.npz"
    save_with_calibration(whole, path, ODDS)
    seed_network = Sequential.load(path)  # what a learner loading the file gets: the digit classifier
    assert seed_network.output_shape == (10,) and seed_network.parameter_count == PARAMETER_COUNT
    expected = whole.predict(images)
    np.testing.assert_array_equal(seed_network.predict(images), expected[:, :10])
    head = read_head(path)
    assert head[KERNEL].shape == (256, 1) and head[BIAS].tolist() == [0.75]
    np.testing.assert_array_equal(load_network(path).predict(images), expected)
    recognizer = Recognizer.load(path)
    np.testing.assert_allclose(recognizer.logits(images), expected, rtol=1e-6)
    odds = recognizer.calibration.scores(recognizer.logits(images))
    log_sum = np.log(np.exp(expected[:, :10].astype(np.float64)).sum(axis=1))
    np.testing.assert_allclose(odds, log_sum - expected[:, 10], rtol=1e-6)
    assert recognizer.predict_proba(images).shape == (6, 10)


def test_split_head_keeps_the_digits_and_gives_a_ten_output_network_back_unchanged(whole, images):
    digits, head = split_head(whole)
    np.testing.assert_array_equal(digits.predict(images), whole.predict(images)[:, :10])
    plain = build_model(seed=1)
    assert split_head(plain) == (plain, {})


def test_a_run_file_saved_as_trained_loads_with_its_eleven_outputs(tmp_path, whole, images):
    whole.save(tmp_path / "run.npz")
    np.testing.assert_array_equal(load_network(tmp_path / "run.npz").predict(images), whole.predict(images))
    build_model(seed=2).save(tmp_path / "plain.npz")
    assert load_network(tmp_path / "plain.npz").output_shape == (10,)
    assert read_head(tmp_path / "plain.npz") is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({KERNEL: np.zeros((256, 1), np.float32)}, "incomplete"),
        ({KERNEL: np.zeros((256, 2), np.float32), BIAS: np.zeros(1, np.float32)}, r"float32 \(256, 1\)"),
        ({KERNEL: np.zeros((256, 1), np.float64), BIAS: np.zeros(1, np.float32)}, "float32"),
        ({KERNEL: np.full((256, 1), np.nan, np.float32), BIAS: np.zeros(1, np.float32)}, "NaN"),
    ],
)
def test_a_damaged_head_is_refused_with_a_clear_error(tmp_path, extra, message):
    build_model(seed=0).save(tmp_path / "w.npz", extra=extra)
    with pytest.raises(WeightsFileError, match=message):
        Recognizer.load(tmp_path / "w.npz")


def test_a_digit_odds_rule_needs_the_head(tmp_path):
    plain = build_model(seed=0)
    with pytest.raises(ValueError, match="needs a network with a not-a-digit output"):
        save_with_calibration(plain, tmp_path / "w.npz", ODDS)
    from handdigit.recognition.calibration import ENTRY

    plain.save(tmp_path / "w.npz", extra={ENTRY: np.array(ODDS.to_json())})
    with pytest.raises(WeightsFileError, match="lacks"):
        Recognizer.load(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="needs a not-a-digit output"):
        ODDS.scores(np.zeros((2, 10)))


def test_training_targets_by_rejection_method():
    labels = np.array([3, 10, 7])
    targets, weights = training_targets(labels, 0.5, "class")
    assert targets.tolist() == [3, 10, 7] and weights.tolist() == [1.0, 0.5, 1.0]
    targets, weights = training_targets(labels, 0.5, "uniform")
    assert targets.shape == (3, 10) and np.allclose(targets[1], 0.1) and targets[0, 3] == 1.0
    targets, weights = training_targets(np.array([1, 2]), 0.5, "class")  # no drawings that are not digits
    assert targets.tolist() == [1, 2] and weights is None
