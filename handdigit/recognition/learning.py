"""Teaching the network your handwriting: a few of your drawings, fine-tuned in with MNIST replay so
that nothing it knew is forgotten.

    taught = recognizer.learn(images, labels)   # a new Recognizer; `recognizer` is unchanged

Each step trains on a batch of PERSONAL_BATCH of your examples (randomly distorted by
handdigit.data.augment, so that 30 drawings teach a style rather than 30 pictures) and REPLAY_BATCH
MNIST training digits (the replay: without it, a network fine-tuned on a handful of examples forgets
the rest), with Adam, through tinycnn's own backward pass; only the dense layers change, so the
features the convolutions learned from 60,000 digits stay. Nothing is written to disk; the
calibration (temperature, not-a-digit rule) is kept as it was, and the feature distance the rule
reads gains a centre for each digit taught, the mean features of your examples of it
(handdigit.recognition.distance): without it, some of a style taught and read right were still
called "not a digit" for lying far from every digit's mean (5-12% of held-out mirrored 3s). Measured (benchmarks/learn_styles.py):
three styles read 0%, 0% and 78% before, 100% after 30 examples each; MNIST test accuracy -0.04,
-0.03 and +0.08 points; about 15 s each on two cores.
"""

import numpy as np

from handdigit.preprocess import MNIST_SIZE

DEFAULT_STEPS = 200  # about 14 s on two cores (benchmarks/learn_styles.py)
MAX_STEPS = 5_000
# Mostly replay: MNIST test accuracy fell 6 points with 32 + 32, and up to 0.65 points with 8 + 56
# (0.03-0.04 with 8 + 120, at 14 s instead of 8 s).
PERSONAL_BATCH, REPLAY_BATCH = 8, 120
LEARNING_RATE = 3e-4
TRAINED_LAYERS = ("Dense",)  # only the dense layers learn: the features stay, and less is forgotten
MAX_EXAMPLES = 10_000


def learn(recognizer, images, labels, steps=None, mnist=None, progress=None, seed=0):
    """A new Recognizer whose network was fine-tuned on `images` (anything predict accepts, or
    (N, 28, 28) arrays already in MNIST format) with int `labels` 0-9, mixed with MNIST replay
    (`mnist`, a handdigit.data.Mnist; default: found the usual way). `progress(step, steps)` is
    called after every step."""
    from handdigit.architecture import build_model
    from handdigit.data.augment import augment_batch
    from handdigit.recognition.distance import feature_network
    from handdigit.recognition.recognizer import Recognizer
    from tinycnn import SoftmaxCrossEntropy
    from tinycnn.optimizers import Adam

    views = _views(recognizer, images)
    labels = _labels(labels, len(views))
    steps = DEFAULT_STEPS if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"learn: steps must be an int from 1 to {MAX_STEPS}, got {steps!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"learn: progress must be a function progress(step, steps), got {progress!r}")
    if mnist is None:
        from handdigit.data import load_mnist

        mnist = load_mnist()  # MnistError, saying what to do, when it cannot be found or fetched
    replay_images, replay_labels = mnist.train_images, mnist.train_labels.astype(int)

    with recognizer._lock:
        weights = recognizer.model.get_weights()
        eleven = recognizer.model.output_shape[-1] == 11
    model = build_model(not_a_digit_output=eleven)
    model.set_weights({name: value.copy() for name, value in weights.items()})
    optimizer, loss, rng = Adam(LEARNING_RATE), SoftmaxCrossEntropy(), np.random.default_rng(seed)
    trained = _Layers([layer for layer in model.layers if type(layer).__name__ in TRAINED_LAYERS])
    for step in range(int(steps)):
        mine = rng.integers(len(views), size=PERSONAL_BATCH)
        replay = rng.integers(len(replay_labels), size=REPLAY_BATCH)
        batch = np.concatenate(
            [augment_batch(views[mine], rng), replay_images[replay].astype(np.float32) / 255]
        )[..., None]
        targets = np.concatenate([labels[mine], replay_labels[replay]])
        loss.forward(model.forward(batch, training=True), targets)
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(trained)
        if progress is not None:
            progress(step + 1, int(steps))
    distance = recognizer.distance  # as fitted for the weights taught from, and a centre per digit taught
    if distance is not None:
        network, _, _ = feature_network(model)
        distance = distance.with_taught(network.predict(views[..., None], batch_size=256), labels)
    return Recognizer(
        model,
        threshold=recognizer.threshold,
        weights_path=None,
        calibration=recognizer.calibration,
        distance=distance,
    )


class _Layers:
    """The layers an optimizer steps (the convolutions' features stay as they are)."""

    def __init__(self, layers):
        self.layers = layers


def _views(recognizer, images):
    """(N, 28, 28) float32 views of the examples; ValueError naming the first that has no digit."""
    if isinstance(images, np.ndarray) and images.ndim == 3 and images.shape[1:] == (MNIST_SIZE, MNIST_SIZE):
        views = images.astype(np.float32) / (255 if images.dtype == np.uint8 else 1)
        if not np.all(np.isfinite(views)) or views.min() < 0 or views.max() > 1:
            raise ValueError("learn: MNIST-format arrays must be uint8 or floats in [0, 1]")
    else:
        images = list(images)
        if len(images) > MAX_EXAMPLES:
            raise ValueError(f"learn: at most {MAX_EXAMPLES:,} examples, got {len(images):,}")
        views = []
        for index, image in enumerate(images):
            view = recognizer.preprocess(image)
            if view is None:
                raise ValueError(f"learn: example {index} has no digit in it (a blank image)")
            views.append(view)
        views = np.stack(views) if views else np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.float32)
    if len(views) == 0:
        raise ValueError("learn: give at least one example")
    if len(views) > MAX_EXAMPLES:
        raise ValueError(f"learn: at most {MAX_EXAMPLES:,} examples, got {len(views):,}")
    return views.astype(np.float32)


def _labels(labels, count):
    labels = np.asarray(labels)
    if labels.shape != (count,):
        raise ValueError(f"learn: {count} examples need {count} labels, got shape {labels.shape}")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise ValueError("learn: labels must be ints from 0 to 9")
    return labels.astype(int)
