"""Fitting the Recognizer's calibration on validation data: the temperature that makes confidences
honest, and the threshold below which an input is "not a digit".

    calibration = calibrate({"mnist": (logits, labels), "polyline": (...), ...}, not_digit_logits)

- Temperature scaling (Guo et al. 2017): one number T, chosen to minimise the negative
  log-likelihood of softmax(logits / T) on the validation digits, each group weighing the same
  (MNIST's 3,000 scans would otherwise outweigh a few hundred coarse scans, and T would fit the
  easy digits). It changes no answer, only how sure each one claims to be.
- Not a digit: the validation digits come in groups (MNIST's scans, and each rendition of the
  drawings: a tablet's few points, a coarse scan, ...). For each score
  (handdigit.recognition.calibration.SCORES) the threshold is the highest that flags at most
  `false_alarms` of every group: the hardest kind of real digit sets it, not the average one
  (pooled, the easy MNIST scans would hide a rule that flags one coarse scan in ten). Of the
  scores, the one that then flags the most validation drawings that are not digits wins, but for
  one: given the inputs' feature distances (handdigit.recognition.distance), "odds-and-distance"
  is the rule whatever the validation drawings say. They are drawn by training's own generators,
  which the not-a-digit head learned, so they cannot show what the distance is for: drawings no
  generator made (on the independent proxies, two networks, it rejects 4-5 points more non-digits
  at the same false alarms; docs/not-a-digit.md). Its weight w makes the digit odds and the log
  distance vary alike over the validation digits (the ratio of their standard deviations), its
  centre c is their mean log distance, both with the groups weighing the same. Every score's
  figures are kept in the calibration's details, so the model card can compare them.
- Views (`fit_views`, given the network): the rule's score averaged over each input and four
  copies moved by 1.5 pixels (handdigit.recognition.views), its threshold set as above on the
  averaged scores of the same groups, and the gate's margin: the largest change the average made
  to any validation input's score.
"""

import math
from dataclasses import replace

import numpy as np

from handdigit.recognition.calibration import DIGITS, NEEDS_HEAD, SCORES, Calibration, ViewAverage

FALSE_ALARMS = 0.01  # the share of validation digits the threshold may flag
VIEW_SHIFT = 1.5  # pixels; 1 moved half as much gain, 2 no more (docs/not-a-digit.md)


def negative_log_likelihood(logits, labels, temperature, weights=None):
    """Mean -log softmax(logits / T)[label], each input weighing `weights` (N,) if given."""
    scaled = np.asarray(logits, np.float64) / temperature
    top = scaled.max(axis=1)
    log_sums = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
    return float(np.average(log_sums - scaled[np.arange(len(labels)), labels], weights=weights))


def group_weights(lengths):
    """(N,) weights that make each group of inputs weigh the same, whatever its size: `lengths` are
    the groups' lengths, in the order the inputs are concatenated."""
    return np.concatenate([np.full(length, 1.0 / length) for length in lengths]) / len(lengths)


def fit_temperature(logits, labels, low=0.05, high=20.0, steps=60, weights=None):
    """The T in [low, high] minimising the (weighted) negative log-likelihood (golden-section
    search on log T; the likelihood is unimodal in T)."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = math.log(low), math.log(high)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = (
        negative_log_likelihood(logits, labels, math.exp(c), weights),
        negative_log_likelihood(logits, labels, math.exp(d), weights),
    )
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = negative_log_likelihood(logits, labels, math.exp(c), weights)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = negative_log_likelihood(logits, labels, math.exp(d), weights)
    return math.exp((a + b) / 2)


def calibrate(
    digit_groups, not_digit_logits=None, false_alarms=FALSE_ALARMS, digit_distances=None, not_digit_distances=None
):  # fmt: skip
    """The Calibration fitted on validation logits: `digit_groups` maps a group's name to (logits
    (N, 10), labels (N,)) of digits; `not_digit_logits` (M, 10) are of drawings that are not digits
    (None or empty: temperature only, no rule). `digit_distances` ({group name: (N,)}) and
    `not_digit_distances` (M,), the inputs' feature distances, make the rule "odds-and-distance"
    (for a network with a not-a-digit output)."""
    if not digit_groups or any(len(logits) == 0 for logits, _ in digit_groups.values()):
        raise ValueError("calibrate: every group of validation digits needs at least one input")
    if (digit_distances is None) != (not_digit_distances is None):
        raise ValueError(
            "calibrate: give the feature distances of both the digits and the non-digits, or neither"
        )
    if digit_distances is not None and set(digit_distances) != set(digit_groups):
        raise ValueError("calibrate: digit_distances needs one array for each group of validation digits")
    digit_logits = np.concatenate([np.asarray(logits, np.float64) for logits, _ in digit_groups.values()])
    digit_labels = np.concatenate([np.asarray(labels, np.intp) for _, labels in digit_groups.values()])
    has_head = digit_logits.shape[1] == DIGITS + 1  # an eleventh output: "not a digit"
    digit_logits = digit_logits[:, :DIGITS]
    weights = group_weights([len(labels) for _, labels in digit_groups.values()])
    temperature = fit_temperature(digit_logits, digit_labels, weights=weights)
    fitted = Calibration(temperature=temperature)
    details = {
        "temperature_fitted_on": f"{len(digit_labels):,} validation digits in {len(digit_groups)} groups, each weighing the same",
        "validation_nll_before": negative_log_likelihood(digit_logits, digit_labels, 1.0, weights),
        "validation_nll_after": negative_log_likelihood(digit_logits, digit_labels, temperature, weights),
    }
    if not_digit_logits is None or len(not_digit_logits) == 0:
        return Calibration(temperature=temperature, details=details)
    scorers = {score: fitted for score in SCORES if score not in NEEDS_HEAD or has_head}
    scorers.pop("odds-and-distance", None)
    distances = dict(digit_distances or {})
    if has_head and digit_distances is not None:
        odds = np.concatenate([fitted.scores(logits, "digit-odds") for logits, _ in digit_groups.values()])
        log_distances = np.log(np.maximum(np.concatenate([distances[name] for name in digit_groups]), 1e-12))
        centre = float(np.average(log_distances, weights=weights))
        spread = math.sqrt(np.average((log_distances - centre) ** 2, weights=weights))
        odds_spread = math.sqrt(np.average((odds - np.average(odds, weights=weights)) ** 2, weights=weights))
        scorers["odds-and-distance"] = Calibration(
            temperature=temperature,
            score="odds-and-distance",
            threshold=0.0,
            distance_weight=odds_spread / spread,
            distance_centre=centre,
            odds_threshold=0.0,
        )
    alternatives = {}
    for score, scorer in scorers.items():
        group_scores = {
            name: scorer.scores(logits, score, distances.get(name))
            for name, (logits, _) in digit_groups.items()
        }
        threshold = min(float(np.quantile(scores, false_alarms)) for scores in group_scores.values())
        alternatives[score] = {
            "threshold": threshold,
            "validation_false_alarms": {
                name: float(np.mean(scores < threshold)) for name, scores in group_scores.items()
            },
            "validation_rejected": float(
                np.mean(scorer.scores(not_digit_logits, score, not_digit_distances) < threshold)
            ),
        }
    if "odds-and-distance" in alternatives:
        best = "odds-and-distance"
    else:
        best = max(alternatives, key=lambda score: alternatives[score]["validation_rejected"])
    groups = ", ".join(f"{name} {len(labels):,}" for name, (_, labels) in digit_groups.items())
    details.update(
        {
            "false_alarms_target": false_alarms,
            "threshold_rule": f"the highest threshold that flags at most {false_alarms:.0%} of every group of validation digits",
            "fitted_on": f"validation digits ({groups}) and {len(not_digit_logits):,} validation drawings that are not digits",
            "alternatives": alternatives,
        }
    )
    combined = scorers.get("odds-and-distance") if best == "odds-and-distance" else None
    return Calibration(
        temperature=temperature,
        score=best,
        threshold=alternatives[best]["threshold"],
        distance_weight=combined.distance_weight if combined else None,
        distance_centre=combined.distance_centre if combined else None,
        odds_threshold=alternatives["digit-odds"]["threshold"] if combined else None,
        details=details,
    )


def fit_views(
    calibration, outputs, digit_views, not_digit_views, shift=VIEW_SHIFT, false_alarms=FALSE_ALARMS
):
    """`calibration` (an "odds-and-distance" rule) with views: its score averaged over each input and
    four copies moved `shift` pixels. `digit_views` ({group name: (N, 28, 28) images in [0, 1]}) are
    the validation digits' groups, `not_digit_views` (M, 28, 28) the validation non-digits;
    `outputs(images)` runs the network: (logits, distances). The views' threshold is the highest
    that flags at most `false_alarms` of every group's averaged scores; the margin is the largest
    change the average made to any of these inputs' scores, so that the gate (average only within
    the margin of the threshold) answers as the average on all of them."""
    from handdigit.recognition.views import averaged_scores

    if calibration.score != "odds-and-distance":
        raise ValueError(f'fit_views: views are for the "odds-and-distance" rule, not {calibration.score!r}')
    if (
        not digit_views
        or any(len(images) == 0 for images in digit_views.values())
        or len(not_digit_views) == 0
    ):
        raise ValueError(
            "fit_views: every group of validation digits, and the non-digits, need at least one input"
        )
    probe = replace(calibration, views=ViewAverage(shift, 0.0, 0.0))

    def own_and_averaged(images):
        logits, distances = outputs(images)
        own = calibration.scores(logits, distances=distances)
        return own, averaged_scores(probe, outputs, images, own)

    digit_scores = {name: own_and_averaged(images) for name, images in digit_views.items()}
    not_digit_own, not_digit_averaged = own_and_averaged(not_digit_views)
    threshold = min(float(np.quantile(averaged, false_alarms)) for _, averaged in digit_scores.values())
    margin = max(
        float(np.abs(averaged - own).max())
        for own, averaged in [*digit_scores.values(), (not_digit_own, not_digit_averaged)]
    )
    inputs = sum(len(images) for images in digit_views.values()) + len(not_digit_views)
    fitted = {
        "shift": shift,
        "threshold_rule": f"the highest threshold that flags at most {false_alarms:.0%} of every group's averaged scores",
        "margin_rule": f"the largest change the average made to the score of any of the {inputs:,} validation inputs",
        "validation_false_alarms": {
            name: float(np.mean(averaged < threshold)) for name, (_, averaged) in digit_scores.items()
        },
        "validation_rejected": float(np.mean(not_digit_averaged < threshold)),
        "inputs_within_margin": float(
            np.mean(
                np.abs(
                    np.concatenate([own for own, _ in digit_scores.values()] + [not_digit_own]) - threshold
                )
                <= margin
            )
        ),
    }
    return replace(
        calibration,
        views=ViewAverage(shift, threshold, margin),
        details={**calibration.details, "views_fitted": fitted},
    )
