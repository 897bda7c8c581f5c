"""The Recognizer's calibration: temperature scaling and the "not a digit" rule, how they are
stored in a weights file (validated), fitted, and shown by the Recognizer, the CLI and the pad."""

import json

import numpy as np
import pytest

from handdigit.evaluation.calibrate import calibrate, fit_temperature, negative_log_likelihood
from handdigit.recognition.calibration import ENTRY, Calibration, read_calibration, save_with_calibration
from tinycnn import WeightsFileError


def test_probabilities_scores_and_the_rule_by_hand():
    calibration = Calibration(temperature=2.0, score="max-probability", threshold=0.6)
    logits = np.array([[4.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    expected = np.exp(logits / 2) / np.exp(logits / 2).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(calibration.probabilities(logits), expected, rtol=1e-12)
    np.testing.assert_allclose(calibration.scores(logits), expected.max(axis=1), rtol=1e-12)
    energy = 2.0 * np.log(np.exp(logits / 2).sum(axis=1))
    np.testing.assert_allclose(calibration.scores(logits, "energy"), energy, rtol=1e-12)
    assert calibration.not_a_digit(logits).tolist() == [False, True]  # 0.78 and 0.38
    assert Calibration().not_a_digit(logits).tolist() == [False, False]  # no rule: never


def test_the_entry_round_trips_through_a_weights_file(tmp_path):
    from handdigit.architecture import build_model
    from handdigit.recognition.recognizer import Recognizer

    model = build_model(seed=0)
    calibration = Calibration(temperature=1.3, score="energy", threshold=4.5, details={"fitted_on": "test"})
    save_with_calibration(model, tmp_path / "w.npz", calibration)
    assert read_calibration(tmp_path / "w.npz") == calibration
    recognizer = Recognizer.load(tmp_path / "w.npz")
    assert recognizer.calibration == calibration
    model.save(tmp_path / "plain.npz")  # a file without the entry: today's behaviour
    assert read_calibration(tmp_path / "plain.npz") is None
    assert Recognizer.load(tmp_path / "plain.npz").calibration == Calibration()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("not json", "not valid JSON"),
        (json.dumps([1, 2]), "not a handdigit.recognizer description"),
        (
            json.dumps({"format": "handdigit.recognizer", "format_version": 9}),
            "format version 9 is not supported",
        ),
        (
            json.dumps({"format": "handdigit.recognizer", "format_version": 1, "temperature": -1}),
            "temperature must be",
        ),
        (
            json.dumps({"format": "handdigit.recognizer", "format_version": 1, "temperature": "1"}),
            "temperature must be",
        ),
        (
            json.dumps(
                {
                    "format": "handdigit.recognizer",
                    "format_version": 1,
                    "not_a_digit": {"score": "vibes", "threshold": 1},
                }
            ),
            "score must be one of",
        ),
        (
            json.dumps(
                {"format": "handdigit.recognizer", "format_version": 1, "not_a_digit": {"score": "energy"}}
            ),
            "needs a threshold",
        ),
        (
            json.dumps(
                {
                    "format": "handdigit.recognizer",
                    "format_version": 1,
                    "not_a_digit": {"score": "energy", "threshold": float("nan")},
                }
            ),
            "not valid JSON|finite",
        ),
        (
            json.dumps({"format": "handdigit.recognizer", "format_version": 1, "not_a_digit": 3}),
            "must be an object",
        ),
        ("x" * 200_000, "too long"),
    ],
)
def test_a_bad_entry_is_a_clear_weights_file_error(tmp_path, entry, message):
    from handdigit.architecture import build_model
    from handdigit.recognition.recognizer import Recognizer

    build_model(seed=0).save(tmp_path / "w.npz", extra={ENTRY: np.array(entry)})
    with pytest.raises(WeightsFileError, match=message):
        Recognizer.load(tmp_path / "w.npz")


def test_temperature_scaling_recovers_the_temperature_that_made_the_labels():
    """Labels drawn from softmax(u) and logits u * 3: the fitted temperature is about 3."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal((20_000, 10)) * 2
    p = np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    temperature = fit_temperature(u * 3, labels)
    assert temperature == pytest.approx(3.0, rel=0.05)
    assert negative_log_likelihood(u * 3, labels, temperature) < negative_log_likelihood(u * 3, labels, 1.0)


def test_each_group_of_validation_digits_weighs_the_same_in_the_temperature():
    """A large group made at temperature 3 and a small one at 1.5: the fitted T minimises the mean
    of the two groups' likelihoods (found here by a fine grid), not the pooled one, which the large
    group would set on its own."""
    rng = np.random.default_rng(2)

    def group(count, temperature):
        u = rng.standard_normal((count, 10)) * 2
        p = np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)
        return u * temperature, np.array([rng.choice(10, p=row) for row in p])

    groups = {"large": group(8_000, 3.0), "small": group(800, 1.5)}
    fitted = calibrate(groups).temperature
    grid = np.exp(np.linspace(np.log(1.0), np.log(4.0), 601))
    mean_of_groups = [np.mean([negative_log_likelihood(z, y, t) for z, y in groups.values()]) for t in grid]
    assert fitted == pytest.approx(grid[int(np.argmin(mean_of_groups))], rel=0.004)
    pooled = fit_temperature(*(np.concatenate(parts) for parts in zip(*groups.values(), strict=True)))
    assert pooled == pytest.approx(3.0, rel=0.1) and fitted < pooled - 0.4


def test_the_rule_flags_at_most_the_chosen_share_of_every_group_and_picks_the_better_score():
    """Easy digits (MNIST-like) and hard ones (a coarse scan, say): the threshold is set by the hard
    group, which a pooled quantile would flag far more often."""
    rng = np.random.default_rng(1)

    def digits(count, margin):
        labels = rng.integers(0, 10, count)
        logits = rng.standard_normal((count, 10))
        logits[np.arange(count), labels] += margin
        return logits, labels

    groups = {"easy": digits(5000, 8.0), "hard": digits(1000, 4.5)}
    not_digit_logits = rng.standard_normal((800, 10))  # flat: no class stands out
    calibration = calibrate(groups, not_digit_logits, false_alarms=0.02)
    assert calibration.score in ("max-probability", "energy")
    hard_flagged = np.mean(calibration.not_a_digit(groups["hard"][0]))
    assert hard_flagged == pytest.approx(0.02, abs=0.005)
    assert np.mean(calibration.not_a_digit(groups["easy"][0])) <= 0.02
    pooled = np.concatenate([groups["easy"][0], groups["hard"][0]])
    pooled_threshold = np.quantile(calibration.scores(pooled), 0.02)
    assert np.mean(calibration.scores(groups["hard"][0]) < pooled_threshold) > 2 * hard_flagged
    assert np.mean(calibration.not_a_digit(not_digit_logits)) > 0.5
    figures = calibration.details["alternatives"]
    assert figures[calibration.score]["validation_rejected"] == max(
        f["validation_rejected"] for f in figures.values()
    )
    assert max(figures[calibration.score]["validation_false_alarms"].values()) <= 0.02
    assert calibrate(groups).score is None  # no non-digits: temperature only
    with pytest.raises(ValueError, match="every group of validation digits needs at least one input"):
        calibrate({"easy": groups["easy"], "empty": (np.zeros((0, 10)), np.zeros(0, int))}, not_digit_logits)


@pytest.fixture
def flag_everything(tmp_path):
    """Weights whose rule calls everything "not a digit" (any probability is below 1.5)."""
    from handdigit.recognition.calibration import read_calibration as read
    from handdigit.recognition.recognizer import Recognizer
    from handdigit.resources import shipped_weights_path

    shipped = Recognizer.load()
    base = read(shipped_weights_path()) or Calibration()
    calibration = Calibration(temperature=base.temperature, score="max-probability", threshold=1.5)
    save_with_calibration(shipped.model, tmp_path / "flags.npz", calibration)
    return tmp_path / "flags.npz"


def test_the_recognizer_says_not_a_digit_and_still_the_closest_digit(flag_everything):
    from handdigit.preprocess import rasterize
    from handdigit.recognition.recognizer import Recognizer

    seven = rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)
    flagging, shipped = Recognizer.load(flag_everything), Recognizer.load()
    prediction, reference = flagging.predict(seven), shipped.predict(seven)
    assert prediction.not_a_digit
    assert prediction.digit == reference.digit == 7
    np.testing.assert_allclose(prediction.probabilities, reference.probabilities)
    assert prediction.confidence == pytest.approx(reference.confidence)
    blank = flagging.predict(np.full((50, 50), 255, np.uint8))
    assert blank.digit is None and not blank.not_a_digit
    assert flagging.predict_prepared(np.zeros((28, 28), np.float32)).digit is None  # no ink: no digit


def test_the_cli_prints_not_a_digit_with_the_closest_digit(flag_everything, tmp_path):
    from PIL import Image

    from handdigit.preprocess import rasterize

    from .helpers import run_handdigit

    path = tmp_path / "seven.png"
    Image.fromarray(rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)).save(path)
    result = run_handdigit("predict", path, "--weights", flag_everything)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: not a digit (closest 7, ")
    result = run_handdigit("predict", path, "--weights", flag_everything, "--json")
    record = json.loads(result.stdout)
    assert record["not_a_digit"] is True and record["digit"] == 7


def test_the_pad_shows_not_a_digit_with_greyed_bars(flag_everything, mnist_dir):
    import re

    from handdigit.pad.widget import DigitPad
    from handdigit.recognition.recognizer import Recognizer

    pad = DigitPad(recognizer=Recognizer.load(flag_everything), warm_up=False, data_dir=mnist_dir)
    pad.draw([[(70, 60), (210, 60), (120, 240)]])
    assert pad.prediction.not_a_digit
    assert re.search(r'<span class="hd-prediction hd-not-a-digit"[^>]*></span>', pad.answer.value)
    assert "That doesn't look like a digit" in re.search(
        r'class="hd-not-a-digit-note"[^>]*>([^<]*)<', pad.answer.value
    ).group(1)
    assert 'class="hd-bars hd-greyed"' in pad.bars.value
    percentages = [int(p) for p in re.findall(r"<span>(\d+)%</span>", pad.bars.value)]
    assert len(percentages) == 10 and abs(sum(percentages) - 100) <= 5
