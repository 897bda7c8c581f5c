"""Recognizer.learn: a new Recognizer taught a style it misread, the old one unchanged, MNIST
replay that keeps what it knew, and clear errors for bad examples."""

import numpy as np
import pytest

from handdigit import Recognizer
from handdigit.data.synthetic import STYLES, place_strokes
from handdigit.preprocess import rasterize


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


@pytest.fixture
def mnist_found(monkeypatch, mnist_dir):
    """MNIST found the usual way: $HANDDIGIT_DATA (a user's cache or a download otherwise)."""
    monkeypatch.setenv("HANDDIGIT_DATA", str(mnist_dir))


def mirrored_threes(count, rng):
    """3s written mirrored (as children often write them): the shipped network does not read them."""
    unit = [[(1.0 - x, y) for x, y in stroke] for stroke in next(iter(STYLES[3].values()))]
    return [rasterize(place_strokes(unit, rng, 280), 280, rng.uniform(8, 24)) for _ in range(count)]


def test_a_style_it_misread_is_learned_and_the_old_recognizer_is_unchanged(recognizer, mnist, mnist_found):
    rng = np.random.default_rng(11)
    taught_on, held_out = mirrored_threes(30, rng), mirrored_threes(40, rng)
    before = np.mean([p.digit == 3 for p in recognizer.predict_many(held_out)])
    weights_before = {name: value.copy() for name, value in recognizer.model.get_weights().items()}
    taught = recognizer.learn(taught_on, [3] * 30)
    after = np.mean([p.digit == 3 and not p.not_a_digit for p in taught.predict_many(held_out)])
    assert before <= 0.2 and after >= 0.9, (before, after)
    assert taught is not recognizer and taught.weights_path is None
    assert taught.calibration == recognizer.calibration and taught.threshold == recognizer.threshold
    for name, value in recognizer.model.get_weights().items():
        np.testing.assert_array_equal(value, weights_before[name])  # the old one is unchanged
    # what it knew stays: the same answers on 1,000 MNIST test digits, give or take a few
    images, labels = mnist.test_images[:1000], mnist.test_labels[:1000]
    old = recognizer.predict_proba(images).argmax(axis=1) == labels
    new = taught.predict_proba(images).argmax(axis=1) == labels
    assert new.mean() >= old.mean() - 0.01


def test_mnist_format_arrays_are_taught_as_they_are(recognizer, mnist, mnist_found):
    taught = recognizer.learn(mnist.test_images[:20], mnist.test_labels[:20], steps=3)
    assert isinstance(taught, Recognizer) and taught.model is not recognizer.model


@pytest.mark.parametrize(
    ("images", "labels", "steps", "message"),
    [
        ([np.full((50, 50), 255, np.uint8)], [3], None, "example 0 has no digit in it"),
        ([], [], None, "at least one example"),
        (np.zeros((2, 28, 28), np.uint8) + 255, [1], None, "2 examples need 2 labels"),
        (np.zeros((1, 28, 28), np.uint8) + 255, [10], None, "labels must be ints from 0 to 9"),
        (np.zeros((1, 28, 28), np.uint8) + 255, [1.5], None, "labels must be ints from 0 to 9"),
        (np.zeros((1, 28, 28), np.float32) + 2, [1], None, r"uint8 or floats in \[0, 1\]"),
        (np.zeros((1, 28, 28), np.uint8) + 255, [1], 0, "steps must be an int from 1"),
    ],
)
def test_bad_examples_are_one_clear_error(recognizer, mnist, images, labels, steps, message):
    from handdigit.recognition.learning import learn

    with pytest.raises(ValueError, match=message):
        learn(recognizer, images, labels, steps=steps, mnist=mnist)


def test_without_mnist_the_error_says_what_to_do(recognizer, monkeypatch):
    import handdigit.data
    from handdigit.data import MnistError

    def unavailable(*arguments, **keywords):
        raise MnistError("MNIST is not in the cache and cannot be downloaded: set HANDDIGIT_DATA")

    monkeypatch.setattr(handdigit.data, "load_mnist", unavailable)
    with pytest.raises(MnistError, match="set HANDDIGIT_DATA"):
        recognizer.learn(np.zeros((1, 28, 28), np.uint8) + 255, [1])
