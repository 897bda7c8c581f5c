"""The feature distance and the "odds-and-distance" rule: the distance against a naive computation,
its storage validated, the rule's score by hand, its fit, and the Recognizer reading it."""

import math

import numpy as np
import pytest

from handdigit.architecture import build_model
from handdigit.evaluation.calibrate import calibrate, group_weights
from handdigit.recognition.calibration import Calibration, read_calibration, save_with_calibration
from handdigit.recognition.distance import (
    MEANS,
    SHRINKAGE,
    TAUGHT_MEANS,
    WHITENING,
    FeatureDistance,
    feature_network,
    read_distance,
)
from handdigit.recognition.recognizer import Recognizer
from tinycnn.errors import WeightsFileError


def clustered(rng, count=600, size=256, spread=1.0):
    """Features of ten digits around ten centres, with correlated noise."""
    labels = np.arange(count) % 10
    centres = rng.normal(0, 3, (10, size))
    mixing = rng.normal(0, 1, (size, size)) / math.sqrt(size)
    return centres[labels] + spread * rng.normal(0, 1, (count, size)) @ mixing, labels


def test_the_distance_is_the_squared_mahalanobis_distance_to_the_nearest_digit():
    rng = np.random.default_rng(0)
    features, labels = clustered(rng, size=24)
    distance = FeatureDistance.fit(features, labels)
    means = np.array([features[labels == digit].mean(axis=0) for digit in range(10)])
    covariance = np.zeros((24, 24))
    for x, label in zip(features, labels, strict=True):
        covariance += np.outer(x - means[label], x - means[label])
    covariance /= len(features)
    covariance += SHRINKAGE * np.trace(covariance) / 24 * np.eye(24)
    queries = np.concatenate([rng.normal(0, 4, (5, 24)), means[:3]])
    expected = [
        min(float((q - mean) @ np.linalg.solve(covariance, q - mean)) for mean in means) for q in queries
    ]
    np.testing.assert_allclose(distance.distances(queries), expected, rtol=1e-4, atol=1e-6)
    assert np.all(distance.distances(means) < 1e-3)  # a digit's mean is at distance 0 from it


def test_a_digit_taught_gets_a_centre_of_its_own_at_its_examples_mean():
    """The distance after teaching is the naive minimum over the ten digits' means and the mean of
    each taught digit's examples (with the same covariance); teaching again replaces those."""
    rng = np.random.default_rng(1)
    features, labels = clustered(rng, size=24)
    distance = FeatureDistance.fit(features, labels)
    taught_features = rng.normal(9, 1, (12, 24))  # a style far from every digit
    taught = distance.with_taught(taught_features, [3] * 8 + [7] * 4)
    assert taught.taught_means.shape == (2, 24) and taught.means is distance.means
    style_means = [taught_features[:8].mean(axis=0), taught_features[8:].mean(axis=0)]
    whitening = distance.whitening.astype(np.float64)
    queries = np.concatenate([rng.normal(9, 1, (4, 24)), rng.normal(0, 4, (4, 24))])
    expected = [
        min(float(np.sum(((q - centre) @ whitening) ** 2)) for centre in [*distance.means, *style_means])
        for q in queries
    ]
    np.testing.assert_allclose(taught.distances(queries), expected, rtol=1e-4)
    assert np.all(taught.distances(queries[:4]) < distance.distances(queries[:4]) / 4)  # near the style
    assert taught.with_taught(taught_features[:2], [5, 5]).taught_means.shape == (1, 24)
    with pytest.raises(ValueError, match="needs"):
        distance.with_taught(taught_features, [3])


def test_taught_centres_round_trip_and_damaged_ones_are_refused(tmp_path):
    distance = stored_distance(np.random.default_rng(7))
    taught = distance.with_taught(np.random.default_rng(8).normal(0, 1, (5, 256)), [1, 1, 4, 4, 9])
    assert set(taught.arrays()) == {MEANS, WHITENING, TAUGHT_MEANS}
    build_model(seed=0).save(tmp_path / "w.npz", extra=taught.arrays())
    np.testing.assert_array_equal(read_distance(tmp_path / "w.npz").taught_means, taught.taught_means)
    assert read_distance(tmp_path / "w.npz").distances(np.zeros((1, 256))) == pytest.approx(
        taught.distances(np.zeros((1, 256)))
    )
    for bad in (
        taught.taught_means.astype(np.float64),
        np.zeros((11, 256), np.float32),
        np.zeros((2, 255), np.float32),
        np.full((1, 256), np.nan, np.float32),
    ):
        build_model(seed=0).save(tmp_path / "w.npz", extra={**distance.arrays(), TAUGHT_MEANS: bad})
        with pytest.raises(WeightsFileError, match="taught_means must be finite float32"):
            read_distance(tmp_path / "w.npz")


def test_fitting_needs_every_digit():
    features, labels = clustered(np.random.default_rng(1), size=8)
    with pytest.raises(ValueError, match=r"digit\(s\) \[7\]"):
        FeatureDistance.fit(features[labels != 7], labels[labels != 7])


def test_the_feature_network_gives_the_features_the_last_layer_reads():
    model = build_model(seed=2, not_a_digit_output=True)
    images = np.random.default_rng(2).random((4, 28, 28, 1)).astype(np.float32)
    network, kernel, bias = feature_network(model)
    features = network.predict(images)
    assert features.shape == (4, 256) and features.min() >= 0  # after the ReLU
    np.testing.assert_allclose(features @ kernel + bias, model.predict(images), rtol=1e-5, atol=1e-6)


def combined(weight=0.7, centre=5.0, threshold=-1.0):
    return Calibration(
        temperature=1.2,
        score="odds-and-distance",
        threshold=threshold,
        distance_weight=weight,
        distance_centre=centre,
        odds_threshold=0.5,
    )


def test_the_combined_score_is_the_digit_odds_less_the_weighted_log_distance():
    logits = np.array([[4.0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0, 2.0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 3.0, 3.0]])
    distances = np.array([math.exp(5.0), math.exp(9.0)])
    odds = np.log(np.exp(logits[:, :10]).sum(axis=1)) - logits[:, 10]
    rule = combined()
    np.testing.assert_allclose(
        rule.scores(logits, distances=distances), odds - 0.7 * (np.log(distances) - 5.0)
    )
    assert rule.scores(logits, distances=distances)[0] == pytest.approx(odds[0])  # at the typical distance
    assert rule.not_a_digit(logits, distances).tolist() == [False, True]  # 0.37 - 2.8 < -1
    with pytest.raises(ValueError, match="one feature distance per input"):
        rule.scores(logits)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"distance_weight": None}, "distance_weight is given exactly when"),
        ({"distance_weight": -1.0}, "must be positive"),
        ({"distance_centre": float("nan")}, "must be a finite number"),
        ({"odds_threshold": None}, "odds_threshold is given exactly when"),
        ({"score": "digit-odds"}, "given exactly when"),
    ],
)
def test_a_combined_rule_needs_its_weight_and_centre(fields, message):
    values = {"temperature": 1.0, "score": "odds-and-distance", "threshold": 0.0}
    values.update(distance_weight=0.5, distance_centre=1.0, odds_threshold=0.0)
    values.update(fields)
    with pytest.raises(ValueError, match=message):
        Calibration(**values)


def stored_distance(rng):
    features, labels = clustered(rng)
    return FeatureDistance.fit(features, labels)


def test_a_combined_rule_round_trips_with_its_distance_and_the_recognizer_reads_both(tmp_path):
    rng = np.random.default_rng(3)
    model, distance = build_model(seed=4, not_a_digit_output=True), stored_distance(rng)
    path = tmp_path / "w.npz"
    save_with_calibration(model, path, combined(), extra=distance.arrays())
    assert read_calibration(path) == combined()
    loaded = read_distance(path)
    np.testing.assert_array_equal(loaded.means, distance.means)
    np.testing.assert_array_equal(loaded.whitening, distance.whitening)
    recognizer = Recognizer.load(path)
    images = rng.random((5, 28, 28)).astype(np.float32)
    logits, distances = recognizer.outputs(images)
    network, kernel, bias = feature_network(model)
    features = network.predict(images[..., None])
    np.testing.assert_allclose(logits, model.predict(images[..., None]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(distances, distance.distances(features), rtol=1e-5)
    predictions = [recognizer.predict_prepared(image) for image in images]
    expected = combined().scores(logits, distances=distances)
    np.testing.assert_allclose([p.score for p in predictions], expected, rtol=1e-5)
    assert [p.not_a_digit for p in predictions] == (expected < -1.0).tolist()


def test_a_combined_rule_without_its_distance_is_refused(tmp_path):
    model = build_model(seed=4, not_a_digit_output=True)
    with pytest.raises(ValueError, match="feature distance's arrays"):
        save_with_calibration(model, tmp_path / "w.npz", combined())
    # written by hand, the file loads as far as the Recognizer, which names what is missing
    from handdigit.recognition.head import split_head

    digits, head = split_head(model)
    digits.save(tmp_path / "w.npz", extra={"handdigit.recognizer": np.array(combined().to_json()), **head})
    with pytest.raises(WeightsFileError, match="feature distance entries"):
        Recognizer.load(tmp_path / "w.npz")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda arrays: arrays.pop(WHITENING), "incomplete"),
        (lambda arrays: arrays.update({MEANS: arrays[MEANS][:9]}), r"must be float32 \(10, 256\)"),
        (lambda arrays: arrays.update({WHITENING: arrays[WHITENING].astype(np.float64)}), "must be float32"),
        (lambda arrays: arrays[MEANS].__setitem__((0, 0), np.inf), "NaN or infinite"),
    ],
)
def test_a_damaged_distance_is_refused_with_a_clear_error(tmp_path, change, message):
    arrays = dict(stored_distance(np.random.default_rng(5)).arrays())
    arrays = {name: value.copy() for name, value in arrays.items()}
    change(arrays)
    build_model(seed=0).save(tmp_path / "w.npz", extra=arrays)
    with pytest.raises(WeightsFileError, match=message):
        read_distance(tmp_path / "w.npz")


def test_calibrating_with_distances_weighs_both_terms_alike_and_keeps_the_false_alarm_rule():
    rng = np.random.default_rng(6)

    def digits(count, spread):
        logits = rng.normal(0, 1, (count, 11))
        labels = rng.integers(0, 10, count)
        logits[np.arange(count), labels] += 8
        return logits, labels, np.exp(rng.normal(5, spread, count))

    easy, hard = digits(900, 0.3), digits(100, 1.0)
    not_digits = rng.normal(0, 1, (400, 11))
    not_digits[:, 10] += 4
    groups = {"easy": easy[:2], "hard": hard[:2]}
    distances = {"easy": easy[2], "hard": hard[2]}
    rule = calibrate(groups, not_digits, 0.02, distances, np.exp(rng.normal(8, 1, 400)))
    assert rule.score == "odds-and-distance"
    weights = group_weights([900, 100])
    logs = np.log(np.concatenate([easy[2], hard[2]]))
    odds = Calibration().scores(np.concatenate([easy[0], hard[0]]), "digit-odds")

    def spread(values):
        return math.sqrt(np.average((values - np.average(values, weights=weights)) ** 2, weights=weights))

    assert rule.distance_centre == pytest.approx(np.average(logs, weights=weights))
    assert rule.distance_weight == pytest.approx(spread(odds) / spread(logs))
    assert rule.odds_threshold == rule.details["alternatives"]["digit-odds"]["threshold"]
    for name, (logits, _) in groups.items():
        assert np.mean(rule.not_a_digit(logits, distances[name])) <= 0.02
    assert set(rule.details["alternatives"]) == {
        "max-probability",
        "energy",
        "digit-odds",
        "odds-and-distance",
    }
    with pytest.raises(ValueError, match="both the digits and the non-digits"):
        calibrate(groups, not_digits, digit_distances=distances)


def test_the_number_reader_judges_cut_pieces_by_the_head_alone():
    """Under "odds-and-distance", a run is doubtful by its digit odds against the head's own
    threshold, whatever its distance (a piece cut out of touching digits lies far from whole ones)."""
    from types import SimpleNamespace

    from handdigit.recognition.numbers import _below

    rule = combined()  # odds threshold 0.5; the combined score's threshold -1.0
    far = SimpleNamespace(score=-30.0, digit_odds=3.0)
    unsure = SimpleNamespace(score=10.0, digit_odds=0.2)
    assert not _below(rule, far, 0.0) and _below(rule, unsure, 0.0)
    assert not _below(rule, unsure, 1.0)  # relaxed: the threshold lowered by 1
