"""How far a drawing's features lie from every digit's: the second half of the not-a-digit rule.

The not-a-digit head (handdigit.recognition.head) learned the non-digits training drew. A drawing
unlike both the digits and those (a grid, a glyph of an alphabet training never saw) can still
fall on the digit side of it, but its features then lie far from where the digits' do. So the
network's 256 features (after Dense256 and its ReLU) of the digits training saw are summed up by
each digit's mean and one covariance shared by the ten (Lee et al. 2018, "A simple unified
framework for detecting out-of-distribution samples and adversarial attacks"), and

    distance(f) = min over digits d of (f - mean_d) C^-1 (f - mean_d)      (squared Mahalanobis)

The covariance is shrunk towards a multiple of the identity (SHRINKAGE of its mean variance), so
that directions in which the digits hardly vary do not blow up. Stored in the weights file beside
the network, as two arrays:

    "extra/handdigit.digit_means"        (10, 256) float32   each digit's mean features
    "extra/handdigit.feature_whitening"  (256, 256) float32  W with W W^T = C^-1, so that the
                                                             distance is |(f - mean_d) W|^2

How the distance enters the rule (the "odds-and-distance" score) is in
handdigit.recognition.calibration; it is fitted by handdigit.evaluation.model_card.
"""

from dataclasses import dataclass, field

import numpy as np

MEANS, WHITENING = "handdigit.digit_means", "handdigit.feature_whitening"
DIGITS, FEATURES = 10, 256
SHRINKAGE = 0.01  # of the features' mean variance, added to the covariance's diagonal


@dataclass(frozen=True)
class FeatureDistance:
    """Each digit's mean features (10, F) and the whitening W (F, F) of their shared covariance."""

    means: np.ndarray
    whitening: np.ndarray
    centres: np.ndarray = field(init=False, repr=False, compare=False)  # the means whitened, (10, F)

    def __post_init__(self):
        centres = self.means.astype(np.float64) @ self.whitening.astype(np.float64)
        object.__setattr__(self, "centres", centres)

    @classmethod
    def fit(cls, features, labels, shrinkage=SHRINKAGE):
        """From the features (N, F) of digits with their labels (N,): every digit must appear."""
        features = np.asarray(features, np.float64)
        labels = np.asarray(labels)
        missing = [digit for digit in range(DIGITS) if not np.any(labels == digit)]
        if missing:
            raise ValueError(f"FeatureDistance.fit: no features of digit(s) {missing}")
        means = np.stack([features[labels == digit].mean(axis=0) for digit in range(DIGITS)])
        residuals = features - means[labels]
        covariance = residuals.T @ residuals / len(residuals)
        covariance += shrinkage * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
        # C^-1 = W W^T with W = (L^T)^-1 for C = L L^T (Cholesky).
        whitening = np.linalg.inv(np.linalg.cholesky(covariance)).T
        return cls(means.astype(np.float32), whitening.astype(np.float32))

    def distances(self, features):
        """(N,) float64: each input's squared Mahalanobis distance to the nearest digit's mean."""
        whitened = np.asarray(features, np.float64) @ self.whitening
        centres = self.centres
        squared = (
            (whitened**2).sum(axis=1)[:, None] - 2 * whitened @ centres.T + (centres**2).sum(axis=1)[None, :]
        )
        return np.maximum(squared.min(axis=1), 0.0)

    def arrays(self):
        """The two arrays to store beside the network ({name: array})."""
        return {MEANS: self.means, WHITENING: self.whitening}


def read_distance(path):
    """The FeatureDistance stored in a weights file, validated, or None if the file has none."""
    from handdigit.recognition.extras import read_arrays
    from tinycnn.keras_weights import is_keras_file

    if is_keras_file(path):
        return None
    arrays = read_arrays(
        path, {MEANS: (DIGITS, FEATURES), WHITENING: (FEATURES, FEATURES)}, "the feature distance"
    )
    return None if arrays is None else FeatureDistance(arrays[MEANS], arrays[WHITENING])


def feature_network(model):
    """The layers of `model` up to its features (all but the last Dense), as a network of their
    own holding copies of the weights: (features network, last Dense's kernel, its bias)."""
    from tinycnn import Sequential

    body = [type(layer)(**layer.get_config(), name=layer.name) for layer in model.layers[:-1]]
    network = Sequential(
        body, input_shape=model.input_shape, dtype=model.dtype, name=f"{model.name}_features"
    )
    names = {layer.name for layer in body}
    network.set_weights(
        {key: value for key, value in model.get_weights().items() if key.split("/")[0] in names}
    )
    last = model.layers[-1].params
    return network, last["kernel"], last["bias"]


def network_outputs(model, x, distance=None, batch_size=500, features=None):
    """(logits (N, C) float64, feature distances (N,) float64 or None without a `distance`) of
    images x (N, 28, 28, 1), from one pass of the network; `features`: feature_network(model),
    when the caller keeps it."""
    if distance is None:
        return model.predict(x, batch_size=batch_size).astype(np.float64), None
    network, kernel, bias = features or feature_network(model)
    values = network.predict(x, batch_size=batch_size)
    return (values @ kernel + bias).astype(np.float64), distance.distances(values)
