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

A network taught your handwriting (handdigit.recognition.learning) has seen digits the means do
not sum up: a mirrored 3 taught as a 3 lies far from every digit's mean, and the rule would still
call some of them "not a digit". So teaching adds a centre of its own for each digit taught, the
mean features of your examples of it (`with_taught`), stored as a third array of taught weights:

    "extra/handdigit.taught_means"       (K, 256) float32   the mean features of your examples of
                                                             each of the K digits taught
"""

from dataclasses import dataclass, field

import numpy as np

MEANS, WHITENING = "handdigit.digit_means", "handdigit.feature_whitening"
TAUGHT_MEANS = "handdigit.taught_means"
DIGITS, FEATURES = 10, 256
SHRINKAGE = 0.01  # of the features' mean variance, added to the covariance's diagonal


@dataclass(frozen=True)
class FeatureDistance:
    """Each digit's mean features (10, F), the whitening W (F, F) of their shared covariance, and
    the mean features of the examples of each digit taught (K, F; none before teaching)."""

    means: np.ndarray
    whitening: np.ndarray
    taught_means: np.ndarray | None = None
    centres: np.ndarray = field(init=False, repr=False, compare=False)  # every mean whitened

    def __post_init__(self):
        means = self.means if self.taught_means is None else np.concatenate([self.means, self.taught_means])
        centres = means.astype(np.float64) @ self.whitening.astype(np.float64)
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

    def with_taught(self, features, labels):
        """This distance with a centre for each digit in `labels` (N,): the mean of the `features`
        (N, F) of the examples taught as that digit (replacing any taught before)."""
        features, labels = np.asarray(features, np.float32), np.asarray(labels)
        if len(features) == 0 or len(features) != len(labels) or features.shape[1:] != self.means.shape[1:]:
            raise ValueError(
                f"FeatureDistance.with_taught: needs (N, {self.means.shape[1]}) features and N labels, "
                f"got {features.shape} and {labels.shape}"
            )
        taught = np.stack([features[labels == digit].mean(axis=0) for digit in np.unique(labels)])
        return FeatureDistance(self.means, self.whitening, taught.astype(np.float32))

    def distances(self, features):
        """(N,) float64: each input's squared Mahalanobis distance to the nearest centre (a digit's
        mean, or the mean of the examples of a digit taught)."""
        whitened = np.asarray(features, np.float64) @ self.whitening
        centres = self.centres
        squared = (
            (whitened**2).sum(axis=1)[:, None] - 2 * whitened @ centres.T + (centres**2).sum(axis=1)[None, :]
        )
        return np.maximum(squared.min(axis=1), 0.0)

    def arrays(self):
        """The arrays to store beside the network ({name: array}): two, three once taught."""
        taught = {} if self.taught_means is None else {TAUGHT_MEANS: self.taught_means}
        return {MEANS: self.means, WHITENING: self.whitening, **taught}


def read_distance(path):
    """The FeatureDistance stored in a weights file, validated, or None if the file has none."""
    from handdigit.recognition.extras import WeightsFileError, read_arrays
    from tinycnn.keras_weights import is_keras_file
    from tinycnn.model import read_extra

    if is_keras_file(path):
        return None
    arrays = read_arrays(
        path, {MEANS: (DIGITS, FEATURES), WHITENING: (FEATURES, FEATURES)}, "the feature distance"
    )
    if arrays is None:
        return None
    taught = read_extra(path).get(TAUGHT_MEANS)
    if taught is not None and not (
        taught.dtype == np.float32
        and taught.ndim == 2
        and 1 <= len(taught) <= DIGITS
        and taught.shape[1] == FEATURES
        and np.all(np.isfinite(taught))
    ):
        raise WeightsFileError(
            f"{path}: the feature distance's {TAUGHT_MEANS} must be finite float32 (K, {FEATURES}) with K "
            f"from 1 to {DIGITS}, got {taught.dtype} {taught.shape}"
        )
    return FeatureDistance(arrays[MEANS], arrays[WHITENING], taught)


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
