"""The not-a-digit rule's score averaged over moved views (handdigit.recognition.views): the moves
against loops that sample the image at the moved coordinates, the average against the five views
scored one at a time, the gate, how the views are stored (validated), fitted and used by predict."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handdigit.evaluation.calibrate import fit_views
from handdigit.recognition.calibration import Calibration, ViewAverage
from handdigit.recognition.recognizer import Recognizer
from handdigit.recognition.views import OFFSETS, moved, rule_scores, shifted_copies
from tinycnn import WeightsFileError


def sampled(image, rows, columns):
    """`image` read at (i - rows, j - columns) for every pixel (i, j), fractional coordinates
    interpolated linearly, zero outside: the image moved `rows` down and `columns` right."""
    height, width = image.shape

    def pixel(i, j):
        return float(image[i, j]) if 0 <= i < height and 0 <= j < width else 0.0

    out = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            y, x = i - rows, j - columns
            y0, x0 = math.floor(y), math.floor(x)
            wy, wx = y - y0, x - x0
            out[i, j] = (
                (1 - wy) * (1 - wx) * pixel(y0, x0)
                + (1 - wy) * wx * pixel(y0, x0 + 1)
                + wy * (1 - wx) * pixel(y0 + 1, x0)
                + wy * wx * pixel(y0 + 1, x0 + 1)
            )
    return out


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    rows=st.integers(-10, 10),
    columns=st.integers(-10, 10),
    seed=st.integers(0, 2**16),
)
def test_a_whole_pixel_move_reads_each_pixel_from_where_it_came(height, width, rows, columns, seed):
    images = np.random.default_rng(seed).random((2, height, width)).astype(np.float32)
    out = moved(images, rows, columns)
    for image, got in zip(images, out, strict=True):
        np.testing.assert_array_equal(got, sampled(image, rows, columns).astype(np.float32))


@settings(max_examples=30, deadline=None)
@given(shift=st.sampled_from([0.5, 1.0, 1.5, 2.25, 3.0, 4.0]), seed=st.integers(0, 2**16))
def test_the_copies_are_the_image_moved_by_the_shift_in_four_directions(shift, seed):
    images = np.random.default_rng(seed).random((3, 8, 7)).astype(np.float32)
    copies = shifted_copies(images, shift)
    assert copies.shape == (3, 4, 8, 7) and copies.dtype == np.float32
    for n, image in enumerate(images):
        for k, (rows, columns) in enumerate(OFFSETS):
            np.testing.assert_allclose(copies[n, k], sampled(image, rows * shift, columns * shift), atol=1e-6)


@pytest.fixture(scope="module")
def shipped():
    return Recognizer.load()


@pytest.fixture(scope="module")
def drawings(shipped, mnist):
    """Views of drawings of both kinds, near and far from the threshold: digits, letters, pictures."""
    from handdigit.evaluation.proxies import make_proxy

    images = [
        image
        for name in ("tablet-8", "hershey-letters", "pictograms")
        for image in make_proxy(name, 8, 5, mnist)[0]
    ]
    views = [shipped.preprocess(image) for image in images]
    return np.stack([view for view in views if view is not None])


def with_views(recognizer, threshold, margin, shift=1.5):
    calibration = replace(recognizer.calibration, views=ViewAverage(shift, threshold, margin))
    return Recognizer(recognizer.model, calibration=calibration, distance=recognizer.distance)


def threshold_and_margin(own):
    """A threshold at the scores' median and a margin in the widest gap between the middle half of
    the scores' distances to it: no score lies near the gate's edge, where one image alone and a
    batch (float sums in another order) could fall on different sides."""
    threshold = float(np.median(own))
    distances = np.sort(np.abs(own - threshold))
    middle = range(len(distances) // 4, 3 * len(distances) // 4)
    k = max(middle, key=lambda i: distances[i + 1] - distances[i])
    return threshold, float(distances[k] + distances[k + 1]) / 2


def averaged_one_at_a_time(recognizer, views, shift):
    """Each view and its four moves (sampled()), scored one network pass at a time, the mean."""
    calibration = recognizer.calibration
    means = []
    for view in views:
        moves = [view] + [sampled(view, r * shift, c * shift).astype(np.float32) for r, c in OFFSETS]
        scores = []
        for image in moves:
            logits, distances = recognizer.outputs(image[None])
            scores.append(calibration.scores(logits, distances=distances)[0])
        means.append(np.mean(scores))
    return np.array(means)


def test_the_average_is_the_mean_of_the_five_views_scored_one_at_a_time(shipped, drawings):
    recognizer = with_views(shipped, threshold=0.0, margin=0.0)
    logits, distances = recognizer.outputs(drawings)
    full = recognizer.rule_scores(drawings, logits, distances, gate=False)
    np.testing.assert_allclose(full, averaged_one_at_a_time(recognizer, drawings, 1.5), rtol=1e-4, atol=1e-3)
    own = recognizer.calibration.scores(logits, distances=distances)
    assert np.abs(full - own).max() > 0.1  # the views do change the score


def test_the_gate_averages_only_within_the_margin_of_the_threshold(shipped, drawings):
    logits, distances = shipped.outputs(drawings)
    own = shipped.calibration.scores(logits, distances=distances)
    threshold, margin = threshold_and_margin(own)
    recognizer = with_views(shipped, threshold, margin)
    full = recognizer.rule_scores(drawings, logits, distances, gate=False)
    gated = recognizer.rule_scores(drawings, logits, distances)
    near = np.abs(own - threshold) <= margin
    assert 0 < near.sum() < len(near)
    np.testing.assert_allclose(gated[near], full[near], rtol=1e-6)
    np.testing.assert_allclose(gated[~near], own[~near], rtol=1e-6)
    np.testing.assert_allclose(recognizer.rule_scores(drawings), gated, rtol=1e-5)  # runs the network itself
    # predict decides by the gated score against the views' threshold
    predictions = [recognizer.predict_prepared(view) for view in drawings]
    np.testing.assert_allclose([p.score for p in predictions], gated, rtol=1e-5)
    assert [p.not_a_digit for p in predictions] == (gated < threshold).tolist()
    assert [p.digit for p in predictions] == logits[:, :10].argmax(axis=1).tolist()  # answers unchanged
    # a margin beyond every change averages all; a margin of 0 none (away from the threshold itself)
    assert np.allclose(with_views(shipped, threshold, 1e4).rule_scores(drawings, logits, distances), full)
    none = with_views(shipped, threshold + 1e-3, 0.0).rule_scores(drawings, logits, distances)
    np.testing.assert_allclose(none, own, rtol=1e-6)


def test_predict_many_flags_as_predict_prepared_does_one_by_one(shipped, drawings):
    logits, distances = shipped.outputs(drawings)
    own = shipped.calibration.scores(logits, distances=distances)
    recognizer = with_views(shipped, *threshold_and_margin(own))
    images = [np.round(view * 255).astype(np.uint8) for view in drawings]
    many = recognizer.predict_many(images, polarity="light-on-dark")
    one = [recognizer.predict_prepared(recognizer.preprocess(image, "light-on-dark")) for image in images]
    assert [p.not_a_digit for p in many] == [p.not_a_digit for p in one]
    np.testing.assert_allclose([p.score for p in many], [p.score for p in one], rtol=1e-5)


def test_no_input_and_blank_inputs_need_no_view(shipped):
    recognizer = with_views(shipped, threshold=0.0, margin=1e4)
    empty = np.zeros((0, 28, 28), np.float32)
    assert recognizer.rule_scores(empty).shape == (0,)
    blank = recognizer.predict_many([np.full((50, 50), 255, np.uint8)] * 2)
    assert [(p.digit, p.not_a_digit, p.score) for p in blank] == [(None, False, None)] * 2


def test_views_round_trip_through_the_json_entry_and_old_entries_keep_one_view():
    base = Calibration(
        temperature=1.1,
        score="odds-and-distance",
        threshold=-15.0,
        distance_weight=2.0,
        distance_centre=5.0,
        odds_threshold=1.0,
    )
    assert base.rule_threshold == -15.0 and base.views is None
    assert Calibration.from_json(base.to_json()) == base
    viewed = replace(base, views=ViewAverage(1.5, -17.0, 21.0), details={"views_fitted": {"shift": 1.5}})
    entry = json.loads(viewed.to_json())
    assert entry["not_a_digit"]["views"] == {"shift": 1.5, "threshold": -17.0, "margin": 21.0}
    assert entry["not_a_digit"]["threshold"] == -15.0
    assert Calibration.from_json(viewed.to_json()) == viewed
    assert viewed.rule_threshold == -17.0


@pytest.mark.parametrize(
    ("views", "message"),
    [
        ([1.5, -17, 21], "must be an object with exactly shift, threshold, margin"),
        ({"shift": 1.5, "threshold": -17}, "must be an object with exactly"),
        ({"shift": 1.5, "threshold": -17, "margin": 1, "copies": 4}, "must be an object with exactly"),
        ({"shift": 0, "threshold": -17, "margin": 1}, r"shift must be a number of pixels in \(0, 4\]"),
        ({"shift": 5, "threshold": -17, "margin": 1}, "shift must be"),
        ({"shift": True, "threshold": -17, "margin": 1}, "shift must be"),
        ({"shift": "1.5", "threshold": -17, "margin": 1}, "shift must be"),
        ({"shift": 1.5, "threshold": None, "margin": 1}, "views' threshold must be a finite number"),
        ({"shift": 1.5, "threshold": float("nan"), "margin": 1}, "views' threshold must be a finite number"),
        ({"shift": 1.5, "threshold": -2e4, "margin": 1}, "views' threshold must be a finite number"),
        ({"shift": 1.5, "threshold": -17, "margin": -1}, "margin must be a number >= 0"),
        ({"shift": 1.5, "threshold": -17, "margin": 1e300}, "margin must be"),
    ],
)
def test_a_bad_views_entry_is_refused_with_what_is_wrong(views, message):
    rule = {"score": "odds-and-distance", "threshold": -15.0, "distance_weight": 2.0, "distance_centre": 5.0}
    rule.update(odds_threshold=1.0, views=views)
    entry = json.dumps({"format": "handdigit.recognizer", "format_version": 1, "not_a_digit": rule})
    with pytest.raises(WeightsFileError, match=message):
        Calibration.from_json(entry, source="w.npz")


def test_views_are_refused_for_a_rule_the_number_reader_reads_by_its_score():
    with pytest.raises(ValueError, match='for the "odds-and-distance" rule only'):
        Calibration(score="energy", threshold=4.0, views=ViewAverage(1.5, 4.0, 1.0))
    with pytest.raises(ValueError, match="must be a ViewAverage"):
        Calibration(
            score="odds-and-distance",
            threshold=0.0,
            distance_weight=1.0,
            distance_centre=0.0,
            odds_threshold=0.0,
            views={"shift": 1.5},
        )


def test_fit_views_sets_the_threshold_on_averaged_scores_and_the_margin_to_the_largest_change():
    rng = np.random.default_rng(7)
    weights, direction = rng.normal(size=(64, 11)), rng.normal(size=64)

    def outputs(images):  # a stand-in network on 8x8 images, smooth in its input
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        return x @ weights, np.exp(0.3 * x @ direction + 2.0)

    rule = Calibration(
        score="odds-and-distance", threshold=0.0, distance_weight=0.5, distance_centre=2.0, odds_threshold=0.0
    )
    groups = {"plain": rng.random((300, 8, 8)), "bright": rng.random((200, 8, 8)) ** 0.3}
    not_digits = rng.random((150, 8, 8)) ** 3
    fitted = fit_views(rule, outputs, groups, not_digits, shift=1.5, false_alarms=0.02)

    def scores(images):
        logits, distances = outputs(images)
        return rule.scores(logits, distances=distances)

    def reference(images):
        own = scores(images)
        views = [np.stack([sampled(image, r * 1.5, c * 1.5) for image in images]) for r, c in OFFSETS]
        return own, (own + sum(scores(view) for view in views)) / 5

    scored = {name: reference(images) for name, images in groups.items()}
    threshold = min(np.quantile(averaged, 0.02) for _, averaged in scored.values())
    changes = [np.abs(averaged - own) for own, averaged in [*scored.values(), reference(not_digits)]]
    assert fitted.views.shift == 1.5
    assert fitted.views.threshold == pytest.approx(threshold, rel=1e-6)
    assert fitted.views.margin == pytest.approx(max(change.max() for change in changes), rel=1e-6)
    assert (
        fitted.threshold == 0.0
        and fitted.details["views_fitted"]["validation_false_alarms"].keys() == groups.keys()
    )
    # by the margin's definition, the gate answers as the full average on every input it was fitted on
    for images in [*groups.values(), not_digits]:
        logits, distances = outputs(images)
        gated = rule_scores(fitted, outputs, images, logits, distances)
        full = rule_scores(fitted, outputs, images, logits, distances, gate=False)
        assert ((gated < fitted.rule_threshold) == (full < fitted.rule_threshold)).all()


def test_fit_views_refuses_other_rules_and_empty_groups():
    def outputs(images):
        return np.zeros((len(images), 11)), np.ones(len(images))

    images = np.zeros((3, 8, 8))
    with pytest.raises(ValueError, match='for the "odds-and-distance" rule'):
        fit_views(Calibration(score="digit-odds", threshold=0.0), outputs, {"a": images}, images)
    rule = Calibration(
        score="odds-and-distance", threshold=0.0, distance_weight=0.5, distance_centre=2.0, odds_threshold=0.0
    )
    with pytest.raises(ValueError, match="need at least one input"):
        fit_views(rule, outputs, {"a": images[:0]}, images)
