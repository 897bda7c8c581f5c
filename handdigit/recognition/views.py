"""The not-a-digit rule's score averaged over a few views of the input: the view the network reads
and four copies of it moved by a pixel and a half (down, up, right, left).

    scores = rule_scores(calibration, outputs, images, logits, distances)  # (N,), on the scale of
    not_a_digit = scores < calibration.rule_threshold                       # the rule's threshold

Why: moving a drawing by a pixel changes the network's features a little for a digit, which it
learned in every position, and more for a drawing unlike any it learned (a letter, a shape). The
mean of the five views' scores is a steadier score: at the same share of validation digits flagged,
the rule rejects 1 to 3 points more of every non-digit proxy (docs/not-a-digit.md). A move of 1.5
pixels is the mean of the moves by 1 and by 2 (bilinear interpolation along one axis).

The network's five passes take about three times one (`predict`, preprocessing included, about
2.4 times), so a gate keeps them for the inputs whose own score lies within the calibration's
`margin` of the threshold: the margin is the largest change the average made to any validation
input's score, so for every validation input farther away the average did not cross the
threshold and the view's own score answers the same; on new inputs that is an expectation,
checked on the proxies (`gate_disagreements`; `gate=False` averages all).
"""

import math

import numpy as np

OFFSETS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (rows, columns) of one step: down, up, right, left


def moved(images, rows, columns):
    """`images` (N, H, W) moved `rows` pixels down and `columns` right (negative: up, left), whole
    pixels; blank paper (zeros) comes in at the edges."""
    out = np.zeros_like(images)
    height, width = images.shape[1:]
    if abs(rows) >= height or abs(columns) >= width:
        return out
    source_rows = slice(max(0, -rows), height - max(0, rows))
    target_rows = slice(max(0, rows), height - max(0, -rows))
    source_columns = slice(max(0, -columns), width - max(0, columns))
    target_columns = slice(max(0, columns), width - max(0, -columns))
    out[:, target_rows, target_columns] = images[:, source_rows, source_columns]
    return out


def shifted_copies(images, shift):
    """(N, 4, H, W) float32: each of `images` (N, H, W) moved by `shift` pixels in each direction of
    OFFSETS; a fractional move is the weighted mean of the two nearest whole-pixel moves."""
    images = np.asarray(images, np.float32)
    whole = math.floor(shift)
    fraction = np.float32(shift - whole)
    copies = []
    for rows, columns in OFFSETS:
        copy = moved(images, rows * whole, columns * whole)
        if fraction:
            copy = (1 - fraction) * copy + fraction * moved(images, rows * (whole + 1), columns * (whole + 1))
        copies.append(copy)
    return np.stack(copies, axis=1)


def averaged_scores(calibration, outputs, images, own_scores):
    """(N,) the rule's score averaged over each of `images` (N, 28, 28) and its shifted copies;
    `own_scores` (N,) are the images' own; `outputs(images)` runs the network: (logits, distances)."""
    images = np.asarray(images, np.float32)
    copies = shifted_copies(images, calibration.views.shift)
    logits, distances = outputs(copies.reshape(-1, *images.shape[1:]))
    copy_scores = calibration.scores(logits, distances=distances).reshape(len(images), len(OFFSETS))
    return (np.asarray(own_scores, np.float64) + copy_scores.sum(axis=1)) / (1 + len(OFFSETS))


def rule_scores(calibration, outputs, images, logits, distances=None, gate=True):
    """(N,) the scores the not-a-digit rule compares with `calibration.rule_threshold`: for `images`
    (N, 28, 28) in [0, 1] whose network outputs are `logits` and `distances`, the rule's score of
    each, averaged over the views when the calibration has them (only near the threshold, with
    `gate`; see the module docstring). `outputs` runs the network on more images."""
    scores = calibration.scores(logits, distances=distances)
    views = calibration.views
    if views is None or len(scores) == 0:
        return scores
    near = np.abs(scores - views.threshold) <= views.margin if gate else np.ones(len(scores), bool)
    if near.any():
        scores[near] = averaged_scores(calibration, outputs, np.asarray(images)[near], scores[near])
    return scores
