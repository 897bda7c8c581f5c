"""What a weights file may add to the network for the Recognizer: a temperature for honest
confidences, and the rule that says "not a digit".

    calibration = read_calibration("weights/handdigit-cnn.npz")    # None for a file without it
    probabilities = calibration.probabilities(logits)               # softmax(logits / T), (N, 10)
    calibration.not_a_digit(logits)                                 # (N,) bool
    calibration.not_a_digit(logits, distances)                      # "odds-and-distance" needs them

Stored in the weights file as the entry "extra/handdigit.recognizer" (tinycnn keeps it beside the
model), a JSON text:

    {"format": "handdigit.recognizer", "format_version": 1,
     "temperature": T,                         # > 0: probabilities are softmax(logits / T)
     "not_a_digit": {"score": "max-probability", "energy", "digit-odds" or "odds-and-distance",
                     "threshold": t,           # below it: not a digit
                     "distance_weight": w,     # "odds-and-distance" only: w > 0,
                     "distance_centre": c,     # c,
                     "odds_threshold": t0,     # and the digit odds' own threshold (the number reader's)
                     "views": {"shift": s,     # optional, "odds-and-distance" only: the score averaged
                               "threshold": t1,  # over the view and four copies moved s pixels, and
                               "margin": m},   # compared with t1, where the view's own lies within m of t1
                     ...}}                     # anything else: how it was chosen (kept, unread)

Scores say how much an input looks like one of the ten digits (higher: more): "max-probability" is
the largest calibrated probability, "energy" is T * logsumexp(logits / T) (Liu et al. 2020), both
of the ten digits' logits; "digit-odds" needs the network's eleventh output, "not a digit"
(handdigit.recognition.head): logsumexp(digits' logits) - that output's logit, the log-odds of
"some digit" against "not a digit" as the eleven-way softmax says. "odds-and-distance" is the
digit odds less w x (log distance - c), the distance being how far the network's features lie from
every digit's (handdigit.recognition.distance): the head learned the non-digits training drew, the
distance catches drawings unlike anything training drew. It equals the digit odds for a drawing
at the digits' typical distance e^c; w makes the two terms vary alike over validation digits. The
temperature applies to the ten digits' probabilities only. A file without the entry loads as
before: temperature 1, nothing is ever "not a digit".

With "views" (handdigit.recognition.views), the Recognizer averages the rule's score over the view
and four moved copies, for the inputs whose own score lies within the margin of the views'
threshold, and compares it with that threshold (`rule_threshold`); `threshold` stays the rule for
one view, which `not_a_digit` applies (the number reader's pieces, cut out of a number, are scored
on one view; it keeps or drops them by the digit odds and `odds_threshold`). Without "views", the
rule reads one view, as files written before it.
"""

import json
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from tinycnn.errors import WeightsFileError

ENTRY = "handdigit.recognizer"
FORMAT, FORMAT_VERSION = "handdigit.recognizer", 1
SCORES = ("max-probability", "energy", "digit-odds", "odds-and-distance")
NEEDS_HEAD = ("digit-odds", "odds-and-distance")
DIGITS = 10  # logits' first ten columns are the digits'; an eleventh, if any, says "not a digit"
VIEW_FIELDS = ("shift", "threshold", "margin")


def _finite(value, low=-1e4, high=1e4):
    """True for a real number (not a bool) in [low, high]: what a JSON entry's number must be."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


@dataclass(frozen=True)
class ViewAverage:
    """The rule's score averaged over the view and four copies moved by `shift` pixels (0 to 4),
    compared with `threshold`; averaged only where the view's own score lies within `margin` (>= 0)
    of it (handdigit.recognition.views)."""

    shift: float
    threshold: float
    margin: float

    def __post_init__(self):
        if not _finite(self.shift, 0, 4) or self.shift == 0:
            raise ValueError(
                f"calibration: views' shift must be a number of pixels in (0, 4], got {self.shift!r}"
            )
        if not _finite(self.threshold):
            raise ValueError(f"calibration: views' threshold must be a finite number, got {self.threshold!r}")
        if not _finite(self.margin, 0):
            raise ValueError(f"calibration: views' margin must be a number >= 0, got {self.margin!r}")

    def to_dict(self):
        return {name: float(getattr(self, name)) for name in VIEW_FIELDS}


@dataclass(frozen=True)
class Calibration:
    """Temperature scaling and the not-a-digit rule (see the module docstring)."""

    temperature: float = 1.0
    score: str | None = None  # None: no rule, never "not a digit"
    threshold: float | None = None
    distance_weight: float | None = None  # "odds-and-distance" only
    distance_centre: float | None = None
    odds_threshold: float | None = None  # the digit odds' own (the number reader's)
    views: ViewAverage | None = None  # the score averaged over moved views ("odds-and-distance" only)
    details: dict = field(default_factory=dict)  # how they were fitted, for the model card

    def __post_init__(self):
        if not (
            isinstance(self.temperature, (int, float))
            and math.isfinite(self.temperature)
            and 0.05 <= self.temperature <= 20
        ):
            raise ValueError(
                f"calibration: temperature must be a number in [0.05, 20], got {self.temperature!r}"
            )
        if self.score is not None and self.score not in SCORES:
            raise ValueError(f"calibration: score must be one of {SCORES}, got {self.score!r}")
        if (self.score is None) != (self.threshold is None):
            raise ValueError("calibration: a not-a-digit score needs a threshold, and a threshold a score")
        if self.threshold is not None and not (
            isinstance(self.threshold, (int, float))
            and math.isfinite(self.threshold)
            and abs(self.threshold) <= 1e4
        ):
            raise ValueError(f"calibration: threshold must be a finite number, got {self.threshold!r}")
        combined = self.score == "odds-and-distance"
        for name in ("distance_weight", "distance_centre", "odds_threshold"):
            value = getattr(self, name)
            if combined != (value is not None):
                raise ValueError(
                    f'calibration: {name} is given exactly when the score is "odds-and-distance"'
                )
            if value is not None and not (
                isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= 1e4
            ):
                raise ValueError(f"calibration: {name} must be a finite number, got {value!r}")
        if combined and not self.distance_weight > 0:
            raise ValueError(f"calibration: distance_weight must be positive, got {self.distance_weight!r}")
        if self.views is not None and not isinstance(self.views, ViewAverage):
            raise ValueError(f"calibration: views must be a ViewAverage, got {type(self.views).__name__}")
        if self.views is not None and not combined:
            # fit_views fits and the proxies measured them for this rule only
            raise ValueError('calibration: views are for the "odds-and-distance" rule only')

    @property
    def rule_threshold(self):
        """The threshold the Recognizer's scores are compared with: the views' with views, else the
        one-view `threshold` (None without a rule)."""
        return self.views.threshold if self.views is not None else self.threshold

    def probabilities(self, logits):
        """softmax(digits' logits / T), (N, 10) float64 (logits (N, 10), or (N, 11) with "not a
        digit" last)."""
        scaled = np.asarray(logits, np.float64)[:, :DIGITS] / self.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=1, keepdims=True)

    def scores(self, logits, score=None, distances=None):
        """How much each input looks like a digit, (N,) (higher: more), by `score` (default: the
        rule's); "odds-and-distance" needs the inputs' feature `distances` (N,)."""
        score = score or self.score or "max-probability"
        if score == "max-probability":
            return self.probabilities(logits).max(axis=1)
        logits = np.asarray(logits, np.float64)
        if score in NEEDS_HEAD:
            if logits.shape[1] != DIGITS + 1:
                raise ValueError(
                    f'the "{score}" score needs a not-a-digit output: 11 logits, got {logits.shape[1]}'
                )
            digits = logits[:, :DIGITS]
            top = digits.max(axis=1)
            odds = top + np.log(np.exp(digits - top[:, None]).sum(axis=1)) - logits[:, DIGITS]
            if score == "digit-odds":
                return odds
            if distances is None or len(distances) != len(logits):
                raise ValueError('the "odds-and-distance" score needs one feature distance per input')
            log_distances = np.log(np.maximum(np.asarray(distances, np.float64), 1e-12))
            return odds - self.distance_weight * (log_distances - self.distance_centre)
        scaled = logits[:, :DIGITS] / self.temperature
        top = scaled.max(axis=1)
        return self.temperature * (top + np.log(np.exp(scaled - top[:, None]).sum(axis=1)))

    def not_a_digit(self, logits, distances=None):
        """(N,) bool: True where the input does not look like a digit by one view's score and
        `threshold` (never, without a rule); the views' average needs the network
        (handdigit.recognition.views, Recognizer.rule_scores)."""
        if self.score is None:
            return np.zeros(len(logits), bool)
        return self.scores(logits, distances=distances) < self.threshold

    def to_json(self):
        entry = {"format": FORMAT, "format_version": FORMAT_VERSION, "temperature": float(self.temperature)}
        if self.score is not None:
            entry["not_a_digit"] = {**self.details, "score": self.score, "threshold": float(self.threshold)}
            if self.score == "odds-and-distance":
                entry["not_a_digit"]["distance_weight"] = float(self.distance_weight)
                entry["not_a_digit"]["distance_centre"] = float(self.distance_centre)
                entry["not_a_digit"]["odds_threshold"] = float(self.odds_threshold)
            if self.views is not None:
                entry["not_a_digit"]["views"] = self.views.to_dict()
        elif self.details:
            entry["details"] = self.details
        return json.dumps(entry)

    @classmethod
    def from_json(cls, text, source="weights"):
        """The Calibration a JSON entry describes; WeightsFileError naming what is wrong."""
        if len(text) > 100_000:
            raise WeightsFileError(f"{source}: the {ENTRY} entry is too long ({len(text):,} characters)")
        try:
            entry = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise WeightsFileError(f"{source}: the {ENTRY} entry is not valid JSON ({error})") from None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            raise WeightsFileError(f"{source}: the {ENTRY} entry is not a {FORMAT} description")
        if entry.get("format_version") != FORMAT_VERSION:
            raise WeightsFileError(
                f"{source}: {ENTRY} format version {entry.get('format_version')!r} is not supported "
                f"(this HandDigit reads version {FORMAT_VERSION})"
            )
        rule = entry.get("not_a_digit")
        if rule is not None and not isinstance(rule, dict):
            raise WeightsFileError(f"{source}: the {ENTRY} entry's not_a_digit must be an object")
        rule = dict(rule or {})
        score, threshold = rule.pop("score", None), rule.pop("threshold", None)
        weight, centre = rule.pop("distance_weight", None), rule.pop("distance_centre", None)
        odds_threshold = rule.pop("odds_threshold", None)
        views = rule.pop("views", None)
        if views is not None and (not isinstance(views, dict) or set(views) != set(VIEW_FIELDS)):
            raise WeightsFileError(
                f"{source}: the {ENTRY} entry's not_a_digit views must be an object with exactly "
                f"{', '.join(VIEW_FIELDS)}"
            )
        details = rule or entry.get("details", {})
        if not isinstance(details, dict):
            raise WeightsFileError(f"{source}: the {ENTRY} entry's details must be an object")
        try:
            return cls(
                views=None if views is None else ViewAverage(**views),
                temperature=entry.get("temperature", 1.0),
                score=score,
                threshold=threshold,
                distance_weight=weight,
                distance_centre=centre,
                odds_threshold=odds_threshold,
                details=details,
            )
        except ValueError as error:
            raise WeightsFileError(f"{source}: the {ENTRY} entry is not valid ({error})") from None


def read_calibration(path):
    """The Calibration stored in a weights file, or None if it has none (a Keras file has none)."""
    from tinycnn.keras_weights import is_keras_file
    from tinycnn.model import read_extra

    if is_keras_file(path):
        return None
    extra = read_extra(path)
    if ENTRY not in extra:
        return None
    value = extra[ENTRY]
    if value.dtype.kind != "U" or value.shape != ():
        raise WeightsFileError(f"{path}: the {ENTRY} entry must be one text, got {value.dtype} {value.shape}")
    return Calibration.from_json(str(value), source=str(path))


def save_with_calibration(model, path, calibration, extra=None):
    """Write the model's weights file with `calibration` stored beside the network; an
    eleven-output network is stored as the seed's ten-output one and its not-a-digit head
    (handdigit.recognition.head); `extra` ({name: array}) is stored too."""
    from handdigit.recognition.head import split_head

    if calibration.score in NEEDS_HEAD and model.output_shape[-1] != DIGITS + 1:
        raise ValueError(
            f'save_with_calibration: a "{calibration.score}" rule needs a network with a not-a-digit output'
        )
    from handdigit.recognition.distance import MEANS, WHITENING

    if calibration.score == "odds-and-distance" and not {MEANS, WHITENING} <= set(extra or {}):
        raise ValueError(
            'save_with_calibration: an "odds-and-distance" rule needs the feature distance\'s arrays in `extra`'
        )
    digits, head = split_head(model)
    return digits.save(path, extra={ENTRY: np.array(calibration.to_json()), **head, **(extra or {})})
