"""SoftmaxCrossEntropy: softmax and cross-entropy fused into one numerically stable step.

Shapes: logits (N, K); targets either integer classes (N,) in [0, K) or probabilities (N, K) (each
row summing to 1: label smoothing, or "uniform" for an input that belongs to no class, as outlier
exposure trains it); optional weights (N,) >= 0 -> loss, a scalar: the batch mean.

Forward:  p = softmax(z) computed as exp(z - max z) / sum(...), so no exp overflows;
          loss = mean over the batch of w_n * -sum_k t_nk log p_nk, with
          log p = (z - max z) - log(sum exp(z - max z)), which never takes log(0).
          (Integer labels are one-hot t; without weights w_n = 1.)
Backward: dL/dz = w_n (p - t) / N    (the famous simple gradient of the fused pair)
The loops: `tinycnn.reference.softmax_cross_entropy`.
"""

import numpy as np

from tinycnn.errors import ShapeError


def softmax(logits):
    """Row-wise softmax of (N, K) logits, stable for any finite input."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against targets (classes or probabilities), with its gradient."""

    def __init__(self):
        self._saved = None

    def forward(self, logits, labels, weights=None):
        """The batch-mean loss (a Python float); keeps what backward needs."""
        logits, targets, weights = self._check(logits, labels, weights)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        if targets.ndim == 1:
            rows = np.arange(len(targets))
            per_example = np.log(sums[:, 0]) - shifted[rows, targets]
        else:
            log_probabilities = shifted - np.log(sums)
            per_example = -(targets * log_probabilities).sum(axis=1)
        if weights is not None:
            per_example = per_example * weights
        self._saved = (exp / sums, targets, weights)
        return float(per_example.mean(dtype=np.float64))

    def backward(self):
        """dL/dlogits (N, K) for the last forward."""
        if self._saved is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward needs a forward first")
        probabilities, targets, weights = self._saved
        self._saved = None
        gradient = probabilities
        if targets.ndim == 1:
            gradient[np.arange(len(targets)), targets] -= 1
        else:
            gradient -= targets
        if weights is not None:
            gradient *= weights[:, None]
        gradient /= len(targets)
        return gradient

    @staticmethod
    def _check(logits, labels, weights):
        if (
            not isinstance(logits, np.ndarray)
            or logits.ndim != 2
            or not np.issubdtype(logits.dtype, np.floating)
        ):
            got = (
                f"{logits.dtype} array of shape {logits.shape}"
                if isinstance(logits, np.ndarray)
                else type(logits).__name__
            )
            raise ShapeError(f"SoftmaxCrossEntropy: expected float logits of shape (N, K), got {got}")
        if logits.shape[0] == 0:
            raise ShapeError("SoftmaxCrossEntropy: empty batch")
        labels = np.asarray(labels)
        if labels.ndim == 2 and not np.issubdtype(labels.dtype, np.integer):  # integers: class labels
            targets = SoftmaxCrossEntropy._check_probabilities(labels, logits)
        else:
            targets = SoftmaxCrossEntropy._check_classes(labels, logits)
        if weights is not None:
            weights = np.asarray(weights)
            if weights.shape != (logits.shape[0],) or not np.issubdtype(weights.dtype, np.number):
                raise ShapeError(
                    f"SoftmaxCrossEntropy: weights must be numbers of shape ({logits.shape[0]},), got {weights.shape}"
                )
            if not np.all(np.isfinite(weights)) or weights.min() < 0:
                raise ShapeError("SoftmaxCrossEntropy: weights must be finite and >= 0")
            weights = weights.astype(logits.dtype)
        return logits, targets, weights

    @staticmethod
    def _check_classes(labels, logits):
        if labels.shape != (logits.shape[0],):
            raise ShapeError(
                f"SoftmaxCrossEntropy: expected labels of shape ({logits.shape[0]},) for logits "
                f"{logits.shape}, got {labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise ShapeError(f"SoftmaxCrossEntropy: labels must be integer classes, got dtype {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise ShapeError(
                f"SoftmaxCrossEntropy: labels must lie in [0, {logits.shape[1]}), "
                f"got values from {labels.min()} to {labels.max()}"
            )
        return labels.astype(np.intp, copy=False)

    @staticmethod
    def _check_probabilities(targets, logits):
        if targets.shape != logits.shape or not np.issubdtype(targets.dtype, np.floating):
            raise ShapeError(
                f"SoftmaxCrossEntropy: target probabilities must be floats of the logits' shape {logits.shape}, "
                f"got {targets.dtype} {targets.shape}"
            )
        if (
            not np.all(np.isfinite(targets))
            or targets.min() < 0
            or not np.allclose(targets.sum(axis=1), 1, atol=1e-5)
        ):
            raise ShapeError(
                "SoftmaxCrossEntropy: target probabilities must be >= 0 and sum to 1 in every row"
            )
        return targets.astype(logits.dtype)

    def __repr__(self):
        return "SoftmaxCrossEntropy()"
