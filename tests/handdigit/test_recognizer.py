"""The Recognizer API with the shipped weights: MNIST, drawn digits, blanks, explanations, errors."""

import numpy as np
import pytest

from handdigit import Prediction, Recognizer, UnreadableImage
from handdigit.data.synthetic import drawn_digit_set
from handdigit.preprocess import rasterize

SEVEN = rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


def test_mnist_test_digits_as_images_keep_the_accuracy_of_predict_proba(recognizer, mnist):
    """Passing the 10,000 test digits through the full preprocessing costs at most 0.3 points."""
    images, labels = mnist.test_images, mnist.test_labels
    direct = (recognizer.predict_proba(images).argmax(axis=1) == labels).mean()
    predictions = recognizer.predict_many(list(images))
    digits = np.array([-1 if p.digit is None else p.digit for p in predictions])
    through_preprocessing = (digits == labels).mean()
    print(
        f"\nMNIST test accuracy: predict_proba {direct:.2%}, predict (preprocessed) {through_preprocessing:.2%}"
    )
    assert direct - through_preprocessing <= 0.003


def test_drawn_digits_are_recognised_in_every_style(recognizer):
    """Synthetic stroke drawings (all styles, widths, slants, sizes, positions): every class recognised."""
    images, labels, styles = drawn_digit_set(per_style=12, seed=2026)
    predictions = recognizer.predict_many(list(images))
    digits = np.array([-1 if p.digit is None else p.digit for p in predictions])
    correct = digits == labels
    per_class = {digit: correct[labels == digit].mean() for digit in range(10)}
    print(
        f"\nDrawn-digit accuracy {correct.mean():.2%}; per class "
        + ", ".join(f"{d}: {a:.0%}" for d, a in per_class.items())
    )
    assert correct.mean() >= 0.9
    assert min(per_class.values()) >= 0.75


def test_a_prediction_has_the_documented_fields(recognizer):
    prediction = recognizer.predict(SEVEN)
    assert isinstance(prediction, Prediction)
    assert prediction.digit == 7
    assert prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1.0)
    assert prediction.confidence == pytest.approx(prediction.probabilities.max())
    assert prediction.input28.shape == (28, 28) and prediction.input28.dtype == np.float32
    assert prediction.input28.min() >= 0 and prediction.input28.max() <= 1
    assert prediction.uncertain == (prediction.confidence < recognizer.threshold)


def test_blank_is_no_digit_not_a_guess(recognizer):
    blank = recognizer.predict(np.full((280, 280), 255, np.uint8))
    assert blank.digit is None and blank.confidence == 0.0 and not blank.probabilities.any()
    assert not blank.uncertain and not blank.input28.any()


def test_threshold_decides_uncertain(recognizer):
    confident = recognizer.predict(SEVEN)
    strict = Recognizer(recognizer.model, threshold=1.0)
    assert strict.predict(SEVEN).uncertain and not confident.uncertain
    with pytest.raises(ValueError, match="threshold"):
        recognizer.threshold = 1.5


def test_predict_many_equals_predict_one_by_one(recognizer, mnist):
    images = [SEVEN, np.full((50, 50), 255, np.uint8), *mnist.test_images[:5]]
    together = recognizer.predict_many(images)
    for image, batched in zip(images, together, strict=True):
        alone = recognizer.predict(image)
        assert alone.digit == batched.digit
        np.testing.assert_allclose(alone.probabilities, batched.probabilities, atol=1e-6)


def test_predict_proba_accepts_mnist_format_and_refuses_the_rest(recognizer, mnist):
    images = mnist.test_images[:8]
    as_uint8 = recognizer.predict_proba(images)
    as_float = recognizer.predict_proba(images.astype(np.float32)[..., None] / 255)
    np.testing.assert_allclose(as_uint8, as_float, atol=1e-6)
    np.testing.assert_allclose(as_uint8.sum(axis=1), 1.0)
    for bad, message in [
        (np.zeros((2, 27, 28)), "28, 28"),
        (np.full((1, 28, 28), 3.0), r"\[0, 1\]"),
        (np.zeros((1, 28, 28), np.int32), "dtype"),
    ]:
        with pytest.raises(ValueError, match=message):
            recognizer.predict_proba(bad)


def test_explain_gives_the_look_inside_maps(recognizer):
    explanation = recognizer.explain(SEVEN)
    assert explanation.prediction.digit == 7
    shapes = {name: maps.shape for name, maps in explanation.feature_maps.items()}
    assert list(shapes.values()) == [(26, 26, 32), (24, 24, 64)]
    assert explanation.saliency.shape == (28, 28) and explanation.saliency.max() == pytest.approx(1.0)
    assert explanation.filters.shape == (32, 3, 3)
    # It looks at the digit and just around it (where ink added or taken away would change the
    # answer), not at the empty border: saliency within 3 px of the ink beats the rest.
    near = explanation.prediction.input28 > 0.3
    for _ in range(3):
        near = near | np.roll(near, 1, 0) | np.roll(near, -1, 0) | np.roll(near, 1, 1) | np.roll(near, -1, 1)
    assert explanation.saliency[near].mean() > 1.2 * explanation.saliency[~near].mean()
    blank = recognizer.explain(np.full((100, 100), 255, np.uint8))
    assert blank.prediction.digit is None and blank.feature_maps == {}


def test_unreadable_input_raises_the_one_error_type(recognizer):
    with pytest.raises(UnreadableImage):
        recognizer.predict(b"definitely not an image")
    with pytest.raises(UnreadableImage):
        recognizer.predict_many([SEVEN, "/nonexistent/file.png"])


def test_weights_of_another_architecture_are_refused(tmp_path):
    from tinycnn import Dense, Flatten, Sequential, WeightsFileError

    other = tmp_path / "other.npz"
    Sequential([Flatten(), Dense(10)], input_shape=(28, 28, 1)).save(other)
    with pytest.raises(WeightsFileError, match="different architecture"):
        Recognizer.load(other)


def test_import_handdigit_stays_light():
    """`import handdigit` loads NumPy and tinycnn (NumPy only: its settings set OPENBLAS_THREAD_TIMEOUT
    before NumPy loads), never Numba, matplotlib, the widgets or Pillow."""
    import subprocess
    import sys

    code = "import sys, handdigit; print(sorted(m for m in ('numba', 'matplotlib', 'ipywidgets', 'PIL') if m in sys.modules))"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "[]"
    )


@pytest.mark.parametrize("width", [8, 20])
def test_real_writers_digits_redrawn_as_canvas_strokes(recognizer, mnist, width):
    """MNIST test digits (writers training never saw) redrawn as a drawing app's strokes, thin and
    thick, through the full predict path: almost all still recognised."""
    from handdigit.data.synthetic import restroke

    chosen = np.random.default_rng(11).choice(len(mnist.test_labels), 300, replace=False)
    images = [restroke(mnist.test_images[index], width, canvas=140) for index in chosen]
    digits = np.array([-1 if p.digit is None else p.digit for p in recognizer.predict_many(images)])
    accuracy = (digits == mnist.test_labels[chosen]).mean()
    print(f"\nredrawn MNIST test digits, pen {width}/140 px: {accuracy:.1%}")
    assert accuracy >= 0.96
