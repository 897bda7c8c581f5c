"""SoftmaxCrossEntropy: softmax and cross-entropy fused into one numerically stable step.

Shapes: logits (N, K), labels (N,) integer classes in [0, K) -> loss, a scalar: the batch mean.
Forward:  p = softmax(z) computed as exp(z - max z) / sum(...), so no exp overflows;
          loss = mean over the batch of -log p[label] = mean(logsumexp(z) - z[label]),
          using log p = (z - max z) - log(sum exp(z - max z)), which never takes log(0).
Backward: dL/dz = (p - onehot(label)) / N    (the famous simple gradient of the fused pair)
"""

import numpy as np

from tinycnn.errors import ShapeError


def softmax(logits):
    """Row-wise softmax of (N, K) logits, stable for any finite input."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels, with its gradient."""

    def __init__(self):
        self._saved = None

    def forward(self, logits, labels):
        """The batch-mean loss (a Python float); keeps softmax(logits) and labels for backward."""
        logits, labels = self._check(logits, labels)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(labels))
        log_likelihood = shifted[rows, labels] - np.log(sums[:, 0])
        self._saved = (exp / sums, labels)
        return float(-log_likelihood.mean(dtype=np.float64))

    def backward(self):
        """dL/dlogits (N, K) for the last forward."""
        if self._saved is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward needs a forward first")
        probabilities, labels = self._saved
        self._saved = None
        gradient = probabilities
        gradient[np.arange(len(labels)), labels] -= 1
        gradient /= len(labels)
        return gradient

    @staticmethod
    def _check(logits, labels):
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
        labels = np.asarray(labels)
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
        if logits.shape[0] == 0:
            raise ShapeError("SoftmaxCrossEntropy: empty batch")
        return logits, labels.astype(np.intp, copy=False)

    def __repr__(self):
        return "SoftmaxCrossEntropy()"
