"""Evaluating weights on the MNIST test set: accuracy, loss, per-class precision and recall, the
confusion matrix, misclassified digits, and calibration.

Calibration asks whether a 90% confidence is right 90% of the time. Predictions are grouped into
equal-width confidence bins; the expected calibration error (ECE) is the average, weighted by
bin size, of |accuracy - mean confidence| per bin (Guo et al. 2017, 15 bins).
"""

from pathlib import Path

import numpy as np

CALIBRATION_BINS = 15


def confusion_matrix(true_labels, predicted, classes=10):
    """(classes, classes) counts: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(true_labels), np.asarray(predicted)), 1)
    return matrix


def precision_recall(matrix):
    """Per-class precision (of the predictions of a class, how many were right) and recall."""
    correct = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, actual, out=np.zeros_like(correct), where=actual > 0)
    return precision, recall


def reliability(confidences, correct, bins=CALIBRATION_BINS):
    """(ece, mean confidence per bin, accuracy per bin, count per bin); bins are (lo, hi]."""
    confidences = np.asarray(confidences, np.float64)
    correct = np.asarray(correct, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    sum_confidence = np.bincount(which, weights=confidences, minlength=bins)
    sum_correct = np.bincount(which, weights=correct, minlength=bins)
    mean_confidence = np.divide(sum_confidence, counts, out=np.zeros(bins), where=counts > 0)
    accuracy = np.divide(sum_correct, counts, out=np.zeros(bins), where=counts > 0)
    ece = float(np.sum(counts * np.abs(accuracy - mean_confidence)) / max(counts.sum(), 1))
    return ece, mean_confidence, accuracy, counts


def calibration_error_floor(confidences, draws=200, seed=0, bins=CALIBRATION_BINS):
    """The expected calibration error a perfectly calibrated model would show with these
    confidences on this many inputs: each answer drawn right with probability its confidence, the
    mean ECE of `draws` such draws. A finite sample never measures 0 (about 1.5% with 1,000
    inputs at 95% accuracy), so an ECE near this floor cannot be told from perfect calibration."""
    confidences = np.asarray(confidences, np.float64)
    rng = np.random.default_rng(seed)
    return float(
        np.mean(
            [
                reliability(confidences, rng.random(len(confidences)) < confidences, bins)[0]
                for _ in range(draws)
            ]
        )
    )


def load_model(weights=None):
    """The reference network with `weights` (default: the shipped ones), validated on load, and
    the calibration stored beside it (the default one, temperature 1, if none)."""
    from handdigit.recognition.calibration import Calibration, read_calibration
    from handdigit.recognition.head import load_network
    from handdigit.resources import shipped_weights_path

    path = Path(weights) if weights is not None else shipped_weights_path()
    return load_network(path), path, read_calibration(path) or Calibration()


def evaluate_model(model, images, labels, calibration=None, distance=None):
    """Metrics of `model` (with `calibration`: its temperature and not-a-digit rule, and the
    feature `distance` that rule may read) on uint8 images (N, 28, 28) and labels (N,), as a
    JSON-ready dict."""
    from handdigit.recognition.calibration import Calibration
    from handdigit.recognition.distance import network_outputs

    calibration = calibration or Calibration()
    x = images.astype(np.float32)[..., None] / np.float32(255)
    logits, distances = network_outputs(model, x, distance)
    labels = labels.astype(np.intp)
    probabilities = calibration.probabilities(logits)
    loss = float(np.mean(-np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-300))))
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    correct = predicted == labels
    matrix = confusion_matrix(labels, predicted)
    precision, recall = precision_recall(matrix)
    ece, bin_confidence, bin_accuracy, bin_counts = reliability(confidence, correct)
    return {
        "images": int(len(labels)),
        "accuracy": float(correct.mean()),
        "loss": float(loss),
        "errors": int((~correct).sum()),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "confusion_matrix": matrix.tolist(),
        "expected_calibration_error": ece,
        "temperature": calibration.temperature,
        "flagged_not_a_digit": flagged_not_a_digit(model, x, logits, calibration, distance, distances),
        "calibration_bins": {
            "mean_confidence": bin_confidence.tolist(),
            "accuracy": bin_accuracy.tolist(),
            "count": bin_counts.tolist(),
        },
        "_predicted": predicted,
        "_confidence": confidence,
    }


def flagged_not_a_digit(model, x, logits, calibration, distance=None, distances=None):
    """The share of images `x` (N, 28, 28, 1) the not-a-digit rule flags, as Recognizer.predict
    decides (averaged over moved views near the threshold when the calibration has them)."""
    from handdigit.recognition.distance import network_outputs
    from handdigit.recognition.views import rule_scores

    if calibration.score is None:
        return 0.0

    def outputs(images):
        return network_outputs(model, images[..., None], distance)

    scores = rule_scores(calibration, outputs, x[..., 0], logits, distances)
    return float(np.mean(scores < calibration.rule_threshold))


def write_figures(report, images, labels, out_dir, gallery_size=40):
    """Confusion matrix, misclassified gallery and reliability diagram as PNGs in `out_dir`."""
    from handdigit import plots

    out_dir = Path(out_dir)
    predicted, confidence = report["_predicted"], report["_confidence"]
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-confidence[wrong])][:gallery_size]  # the most confident mistakes first
    bins = report["calibration_bins"]
    return {
        "confusion_matrix": str(
            plots.plot_confusion_matrix(
                np.array(report["confusion_matrix"]), out_dir / "confusion-matrix.png"
            )
        ),
        "misclassified": str(
            plots.plot_misclassified(
                images[wrong],
                labels[wrong],
                predicted[wrong],
                confidence[wrong],
                out_dir / "misclassified.png",
            )
        ),
        "reliability": str(
            plots.plot_reliability(
                np.array(bins["mean_confidence"]),
                np.array(bins["accuracy"]),
                np.array(bins["count"]),
                report["expected_calibration_error"],
                out_dir / "reliability.png",
            )
        ),
    }


def evaluate_weights(weights=None, data_dir=None, out_dir=None, mnist=None):
    """Evaluate a weights file on the test set; with `out_dir`, also write figures and metrics.json."""
    import json

    from handdigit.data import load_mnist
    from handdigit.recognition.distance import read_distance
    from handdigit.util import write_text_atomic

    model, path, calibration = load_model(weights)
    mnist = mnist if mnist is not None else load_mnist(data_dir)
    report = evaluate_model(model, mnist.test_images, mnist.test_labels, calibration, read_distance(path))
    report["weights"] = str(path)
    if out_dir is not None:
        report["figures"] = write_figures(
            report, mnist.test_images, mnist.test_labels.astype(np.intp), out_dir
        )
    public = {key: value for key, value in report.items() if not key.startswith("_")}
    if out_dir is not None:
        write_text_atomic(Path(out_dir) / "metrics.json", json.dumps(public, indent=2) + "\n")
    return public


DRAWN_SEED = 2026  # the drawn-digit evaluation set; training draws from other random streams


def evaluate_drawn(recognizer=None, per_style=20, seed=DRAWN_SEED):
    """Accuracy on synthetic pen drawings (every style of handdigit.synthetic, random widths,
    slants, sizes and positions), each through the full `Recognizer.predict` path."""
    from handdigit.data.synthetic import drawn_digit_set
    from handdigit.recognition.recognizer import Recognizer

    recognizer = recognizer or Recognizer.load()
    images, labels, styles = drawn_digit_set(per_style=per_style, seed=seed)
    predictions = recognizer.predict_many(list(images))
    digits = np.array([-1 if p.digit is None else p.digit for p in predictions])
    correct = digits == labels
    by_style = {}
    for style, right in zip(styles, correct, strict=True):
        by_style.setdefault(style, []).append(bool(right))
    return {
        "images": int(len(labels)),
        "seed": seed,
        "accuracy": float(correct.mean()),
        "per_class": [float(correct[labels == digit].mean()) for digit in range(10)],
        "per_style": {style: float(np.mean(values)) for style, values in by_style.items()},
    }
