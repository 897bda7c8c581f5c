"""The prediction API: from any drawing, photo or scan of a digit to a prediction you can trust.

    from handdigit import Recognizer
    rec = Recognizer.load()                  # the shipped weights (or Recognizer.load("w.npz"))
    p = rec.predict("photo.jpg")             # path, bytes, file, PIL image or NumPy array
    p.digit, p.confidence, p.probabilities   # int or None ("no digit"); float; (10,) summing to 1
    p.input28                                # (28, 28) float32 in [0, 1]: what the network saw
    p.uncertain                              # a digit whose confidence is below rec.threshold
    p.not_a_digit                            # True: this is not a digit (a letter, a shape, ...);
                                             # digit and probabilities still say the closest one
    rec.read_number("number.png").text       # "42": several digits, left to right (also .digits, .boxes)

Probabilities are calibrated (temperature scaling) and "not a digit" is decided by the rule the
weights file stores beside the network (handdigit.recognition.calibration; it may read how far the
network's features lie from the digits', handdigit.recognition.distance, and average its score over
a few moved views near its threshold, handdigit.recognition.views); weights without it never say
"not a digit".

The widget, the CLI and the web app talk to this class only; it alone touches the network's layers
(for `explain`, the look-inside panel). One lock serialises use of the network, so a widget may
predict from a background thread while another thread asks for an explanation.
"""

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handdigit.preprocess import MNIST_SIZE, to_mnist
from handdigit.recognition.calibration import NEEDS_HEAD, Calibration
from handdigit.recognition.distance import feature_network, network_outputs, read_distance
from handdigit.recognition.images import load_image

DEFAULT_THRESHOLD = 0.7  # below this confidence a prediction is shown as "unsure"


@dataclass(frozen=True)
class Prediction:
    """What the network made of one image. For a blank image ("no digit"): digit None, confidence
    0.0, zeros, not_a_digit False, score None. For something that is not a digit: not_a_digit True,
    and digit, confidence and probabilities say what the network would have answered. `score` is
    how much the image looks like a digit on the scale of the weights' not-a-digit rule (higher:
    more; "not a digit" below its threshold, `calibration.rule_threshold`; averaged over moved views
    near it when the weights say so; the largest probability when there is no rule). The pieces a
    number reading cuts out (NumberReading.digits of several) are scored on one view, against
    `calibration.threshold`.
    `digit_odds` is the not-a-digit output's log-odds of "some digit" against "not a digit" alone
    (None for a network without that output): the number reader weighs its readings by it."""

    digit: int | None
    confidence: float
    probabilities: np.ndarray = field(repr=False)
    input28: np.ndarray = field(repr=False)
    uncertain: bool
    not_a_digit: bool = False
    score: float | None = None  # how much it looks like a digit, on the not-a-digit rule's scale
    digit_odds: float | None = None

    @property
    def is_blank(self):
        return self.digit is None


@dataclass(frozen=True)
class Explanation:
    """What the look-inside panel shows for one input.

    feature_maps: {layer name: (H, W, C) activations after the ReLU of each convolution};
    saliency: (28, 28) in [0, 1], |d logit of the winning class / d pixel|, scaled to its maximum;
    filters: (C_out, KH, KW) kernels of the first convolution.
    """

    prediction: Prediction
    feature_maps: dict
    saliency: np.ndarray
    filters: np.ndarray


class Recognizer:
    """A trained reference network plus MNIST-style preprocessing."""

    def __init__(
        self, model, threshold=DEFAULT_THRESHOLD, weights_path=None, calibration=None, distance=None
    ):
        from tinycnn.errors import WeightsFileError

        self.model = model
        self.threshold = threshold
        self.weights_path = weights_path
        self.calibration = calibration if calibration is not None else Calibration()
        self.distance = distance  # a FeatureDistance (handdigit.recognition.distance) or None
        if self.calibration.score in NEEDS_HEAD and model.output_shape[-1] != 11:
            raise WeightsFileError(
                f"{weights_path or 'weights'}: the not-a-digit rule reads the network's not-a-digit output, "
                "which this file lacks (its head entries)"
            )
        if self.calibration.score == "odds-and-distance" and distance is None:
            raise WeightsFileError(
                f"{weights_path or 'weights'}: the not-a-digit rule reads how far the features lie from "
                "the digits', which this file lacks (its feature distance entries)"
            )
        self._features = feature_network(model) if distance is not None else None
        self._lock = threading.RLock()

    @classmethod
    def load(cls, weights=None, threshold=DEFAULT_THRESHOLD):
        """The reference network with `weights` (default: the shipped ones) and the calibration
        stored beside it, validated on load."""
        from handdigit.recognition.calibration import read_calibration
        from handdigit.recognition.head import load_network
        from handdigit.resources import shipped_weights_path

        path = Path(weights) if weights is not None else shipped_weights_path()
        return cls(
            load_network(path),
            threshold=threshold,
            weights_path=path,
            calibration=read_calibration(path),
            distance=read_distance(path),
        )

    @property
    def threshold(self):
        return self._threshold

    @threshold.setter
    def threshold(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold must be a number in [0, 1], got {value!r}")
        self._threshold = float(value)

    def warmup(self):
        """Compile (or load) the kernels single images use and run the network once, so the first
        stroke is fast (the Winograd kernels, which single images never run, would add half a
        minute to a first start with an empty cache)."""
        import tinycnn

        tinycnn.warmup(batch_size=1)
        self.predict_proba(np.zeros((1, MNIST_SIZE, MNIST_SIZE), np.float32))

    # --- prediction -----------------------------------------------------------------------
    def preprocess(self, image, polarity="auto"):
        """The (28, 28) MNIST-style view of any accepted image, or None for a blank one."""
        luminance, alpha = load_image(image)
        return to_mnist(luminance, alpha, polarity)

    def predict(self, image, polarity="auto"):
        """The prediction for one drawing, photo, scan, file or array (see handdigit.images)."""
        return self.predict_many([image], polarity)[0]

    def predict_many(self, images, polarity="auto"):
        """Predictions for many images, the network run once on all non-blank ones."""
        views = [self.preprocess(image, polarity) for image in images]
        present = [index for index, view in enumerate(views) if view is not None]
        results = [self.no_digit()] * len(views)
        if present:
            batch = np.stack([views[index] for index in present])
            logits, distances = self.outputs(batch)
            scores = self.rule_scores(batch, logits, distances)
            for row, index in enumerate(present):
                results[index] = self._prediction(
                    logits[row], views[index], _row(distances, row), scores[row]
                )
        return results

    def rule_scores(self, x, logits=None, distances=None, gate=True):
        """(N,) the scores the not-a-digit rule compares with `calibration.rule_threshold`, for
        images in MNIST format (as predict_proba): averaged over moved views near the threshold when
        the weights say so (handdigit.recognition.views; all of them with `gate=False`). Pass the
        images' `logits` and `distances` if `outputs` already gave them."""
        from handdigit.recognition.views import rule_scores

        images = self._as_network_input(x)[..., 0]
        if logits is None:
            logits, distances = self.outputs(images)
        return rule_scores(self.calibration, self.outputs, images, logits, distances, gate)

    def read_number(self, image, polarity="auto"):
        """The number written in an image of one or more digits: a NumberReading with `text`
        ("42"; "" when there is no digit), `digits` (one Prediction per character) and `boxes`
        ((x0, y0, x1, y1) in the image's pixels); see handdigit.recognition.numbers."""
        from handdigit.recognition.numbers import read_number

        return read_number(self, image, polarity)

    def learn(self, images, labels, steps=None, mnist=None, progress=None):
        """A new Recognizer taught your handwriting: fine-tuned on `images` (anything predict
        accepts, or (N, 28, 28) MNIST-format arrays) with int `labels`, mixed with MNIST replay so
        that it forgets nothing; this one is unchanged and nothing is written to disk
        (handdigit.recognition.learning). MNIST is found the usual way ($HANDDIGIT_DATA, the cache,
        a download), with a clear error when it cannot be, unless `mnist` (a handdigit.data.Mnist)
        is given; `progress(step, steps)` is called after every step."""
        from handdigit.recognition.learning import learn

        return learn(self, images, labels, steps, mnist=mnist, progress=progress)

    def fool(self, prediction, method="iterative"):
        """The smallest change to `prediction`'s 28x28 view that makes the network answer another
        digit ("fgsm" or "iterative"): an Attack (handdigit.recognition.adversarial)."""
        from handdigit.recognition.adversarial import fool

        with self._lock:  # the layers keep what backward needs between forward and backward
            return fool(self, prediction, method)

    def predict_prepared(self, view):
        """The prediction for one image already in MNIST format, (28, 28) floats in [0, 1] or
        uint8 (an MNIST test digit, say): no preprocessing. An image without ink is "no digit"."""
        batch = self._as_network_input(np.asarray(view)[None])
        if not np.any(batch > 0):
            return self.no_digit()
        logits, distances = self.outputs(batch)
        score = self.rule_scores(batch, logits, distances)[0]
        return self._prediction(logits[0], batch[0, :, :, 0], _row(distances, 0), score)

    def predict_proba(self, x):
        """Calibrated class probabilities (N, 10) for images already in MNIST format: (N, 28, 28)
        or (N, 28, 28, 1), floats in [0, 1] or uint8 (0-255). No preprocessing."""
        return self.calibration.probabilities(self.logits(x))

    def logits(self, x):
        """The network's raw outputs (N, 10) float64 for images in MNIST format (as predict_proba);
        (N, 11) for a network with a not-a-digit output (the eleventh column)."""
        return self.outputs(x)[0]

    def outputs(self, x):
        """(logits as `logits` gives them, and each image's feature distance (N,) float64, how far
        its features lie from the digits' (handdigit.recognition.distance), or None for weights
        without one): all the not-a-digit rule reads, from one pass of the network."""
        batch = self._as_network_input(x)
        with self._lock:
            return network_outputs(self.model, batch, self.distance, batch_size=256, features=self._features)

    def explain(self, image, polarity="auto"):
        """Feature maps, saliency and first-layer filters for one image (see Explanation)."""
        return self.explain_prediction(self.predict(image, polarity))

    def explain_prediction(self, prediction):
        """The Explanation of a prediction already made (its `input28` is run through again)."""
        from tinycnn import Conv2D, ReLU

        filters = self._first_convolution().params["kernel"][:, :, 0, :].transpose(2, 0, 1).copy()
        if prediction.digit is None:
            return Explanation(prediction, {}, np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), filters)
        x = prediction.input28[None, :, :, None].astype(np.float32)
        feature_maps = {}
        with self._lock:
            activation = x
            layers = self.model.layers
            for index, layer in enumerate(layers):
                activation = layer.forward(activation, training=False)
                follows_convolution = index > 0 and isinstance(layers[index - 1], Conv2D)
                if isinstance(layer, ReLU) and follows_convolution:
                    feature_maps[layers[index - 1].name] = activation[0].copy()
            gradient = np.zeros_like(activation)
            gradient[0, prediction.digit] = 1.0
            # Layer by layer, as the forward above (the model's own passes fuse Conv2D -> ReLU -> pool).
            for layer in reversed(layers):
                gradient = layer.backward(gradient)
            input_gradient = gradient
        saliency = np.abs(input_gradient[0, :, :, 0])
        peak = saliency.max()
        saliency = (saliency / peak if peak > 0 else saliency).astype(np.float32)
        return Explanation(prediction, feature_maps, saliency, filters)

    # --- helpers --------------------------------------------------------------------------
    def _first_convolution(self):
        from tinycnn import Conv2D

        return next(layer for layer in self.model.layers if isinstance(layer, Conv2D))

    def _prediction(self, logits, view, distance=None, score=None):
        """The Prediction of one input's network outputs; `score` from rule_scores, compared with
        the rule's threshold, or None: the rule for one view (the number reader's pieces)."""
        probabilities = self.calibration.probabilities(logits[None])[0]
        digit = int(np.argmax(probabilities))
        confidence = float(probabilities[digit])
        distances = None if distance is None else np.array([distance])
        if score is None:
            not_a_digit = bool(self.calibration.not_a_digit(logits[None], distances)[0])
            score = float(self.calibration.scores(logits[None], distances=distances)[0])
        else:
            score = float(score)
            not_a_digit = self.calibration.score is not None and score < self.calibration.rule_threshold
        odds = float(self.calibration.scores(logits[None], "digit-odds")[0]) if len(logits) == 11 else None
        return Prediction(
            digit, confidence, probabilities, view, confidence < self.threshold, not_a_digit, score, odds
        )

    @staticmethod
    def no_digit():
        """The Prediction for an image with no digit in it."""
        return Prediction(None, 0.0, np.zeros(10), np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), False)

    @staticmethod
    def _as_network_input(x):
        x = np.asarray(x)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (MNIST_SIZE, MNIST_SIZE):
            raise ValueError(
                f"predict_proba expects (N, 28, 28) or (N, 28, 28, 1) images, got shape {x.shape}"
            )
        if x.dtype == np.uint8:
            return (x.astype(np.float32) / np.float32(255))[..., None]
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"predict_proba expects uint8 or float images, got dtype {x.dtype}")
        if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
            raise ValueError("predict_proba expects float pixels in [0, 1] (pass uint8 for 0-255 data)")
        return x.astype(np.float32)[..., None]


def _row(distances, row):
    return None if distances is None else float(distances[row])
