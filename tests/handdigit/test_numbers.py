"""Recognizer.read_number: numbers of several digits split, read left to right, boxed; strokes of
one digit kept together, touching digits split, specks and non-digits left out; one digit read as
predict reads it; composed numbers from two generators read right."""

import numpy as np
import pytest

from handdigit import Recognizer
from handdigit.evaluation.numbers import compose_drawn, compose_from_mnist, evaluate_numbers
from handdigit.preprocess import rasterize


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


def drawn(strokes, size=(200, 500), width=12):
    return rasterize(strokes, size, width)


def shifted(strokes, dx, dy=0):
    return [[(x + dx, y + dy) for x, y in stroke] for stroke in strokes]


ONE = [[(40, 40), (40, 160)]]
FOUR_TWO_STROKES = [[(60, 40), (20, 120), (100, 120)], [(80, 70), (80, 170)]]
SEVEN = [[(20, 40), (100, 40), (50, 170)]]
ZERO = [[(60 + 40 * np.sin(t), 100 - 60 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]]
FIVE_TWO_STROKES = [[(90, 40), (35, 40)], [(35, 40), (30, 95), (80, 95), (95, 130), (75, 165), (25, 160)]]


def test_a_number_is_read_left_to_right_with_a_box_per_digit(recognizer):
    image = drawn([*SEVEN, *shifted(ONE, 130), *shifted(FOUR_TWO_STROKES, 230), *shifted(ZERO, 360)])
    reading = recognizer.read_number(image)
    assert reading.text == "7140"
    assert [p.digit for p in reading.digits] == [7, 1, 4, 0]
    assert len(reading.boxes) == 4
    assert all(isinstance(value, int) for box in reading.boxes for value in box)
    lefts = [box[0] for box in reading.boxes]
    assert lefts == sorted(lefts)
    for (x0, y0, x1, y1), expected_left in zip(reading.boxes, (14, 164, 244, 374), strict=True):
        assert abs(x0 - expected_left) <= 8 and 0 <= y0 < y1 <= 200 and x0 < x1 <= 500
        assert (255 - image[y0:y1, x0:x1]).sum() > 0  # ink inside the box
        assert (image[:, x1 + 2] == 255).all() if x1 + 2 < 500 else True  # the box ends at the ink


def test_strokes_of_one_digit_stay_together(recognizer):
    image = drawn([*FOUR_TWO_STROKES, *shifted(FIVE_TWO_STROKES, 130), *shifted(SEVEN, 260)])
    assert recognizer.read_number(image).text == "457"


def test_touching_digits_are_split(recognizer):
    from scipy import ndimage

    for strokes, text in (([*SEVEN, *shifted(ZERO, 74)], "70"), ([*ZERO, *shifted(ZERO, 84)], "00")):
        image = drawn(strokes, width=12)
        assert ndimage.label(image < 128, structure=np.ones((3, 3)))[1] == 1  # one piece of ink
        assert recognizer.read_number(image).text == text


@pytest.mark.parametrize("gap", [78, 84, 88])
@pytest.mark.parametrize("width", [10, 14])
def test_two_round_digits_touching_side_by_side_are_split_between_them(recognizer, gap, width):
    # Their sides merge into one thick stroke: a cut through the least ink goes round it, through
    # one 0's inside (a C and a 0 with an arc), and the straight cut between them is needed.
    from scipy import ndimage

    image = drawn([*ZERO, *shifted(ZERO, gap)], width=width)
    assert ndimage.label(image < 128, structure=np.ones((3, 3)))[1] == 1
    reading = recognizer.read_number(image)
    assert reading.text == "00"
    (_, _, first_right, _), (second_left, _, _, _) = reading.boxes
    assert first_right >= 100 - width / 2  # each 0 keeps its own side (the first spans x 20-100)
    assert second_left <= 20 + gap + width / 2


def test_a_stray_dot_is_ignored(recognizer):
    image = drawn([*SEVEN, [(140, 170)], *shifted(ZERO, 180)])
    reading = recognizer.read_number(image)
    assert reading.text == "70" and len(reading.boxes) == 2


def test_one_digit_is_read_exactly_as_predict_reads_it(recognizer):
    for strokes in (SEVEN, FOUR_TWO_STROKES, ZERO):
        image = drawn(strokes, size=(200, 200))
        assert recognizer.read_number(image).text == str(recognizer.predict(image).digit)


def test_an_image_read_as_one_run_is_read_and_rejected_as_predict_does(recognizer, monkeypatch, mnist):
    """Where the reader finds one digit in the whole image, it answers predict's digit, and nothing
    when predict says "not a digit" (its rule over moved views included)."""
    from handdigit.evaluation.proxies import make_proxy

    answers = []
    predict = recognizer.predict
    monkeypatch.setattr(
        recognizer, "predict", lambda *a, **k: answers.append(predict(*a, **k)) or answers[-1]
    )
    outcomes, odds_alone_differs = [], 0
    for name in ("mnist-test", "tablet-8", "shapes", "typed-symbols"):
        for image in make_proxy(name, 40, 4, mnist)[0]:
            answers.clear()
            reading = recognizer.read_number(image)
            if not answers:  # read as several runs: not predict's answer
                continue
            (whole,) = answers
            rejected = whole.digit is None or whole.not_a_digit
            assert reading.text == ("" if rejected else str(whole.digit)), name
            assert len(reading.boxes) == len(reading.digits) == (0 if rejected else 1)
            outcomes.append(rejected)
            odds_alone_differs += rejected != (whole.digit_odds < recognizer.calibration.odds_threshold)
    assert outcomes.count(True) >= 5 and outcomes.count(False) >= 5
    assert odds_alone_differs >= 2  # where the head's odds alone (the pieces' rule) would answer otherwise


def test_blank_and_non_digit_images_read_no_number(recognizer):
    assert recognizer.read_number(np.full((100, 300), 255, np.uint8)) == recognizer.read_number(
        np.zeros((50, 50), np.float32) + 1.0
    )
    assert recognizer.read_number(np.full((100, 300), 255, np.uint8)).text == ""
    for strokes in (
        [[(40, 30), (40, 170), (130, 170)]],
        [[(20, 170), (70, 30), (120, 170)], [(40, 110), (100, 110)]],
    ):
        reading = recognizer.read_number(drawn(strokes, size=(200, 200)))  # an L, an A
        assert reading.text == "" and reading.digits == [] and reading.boxes == []


def test_light_on_dark_and_files_are_read(recognizer, tmp_path):
    from PIL import Image

    image = drawn([*SEVEN, *shifted(ONE, 130)])
    assert recognizer.read_number(255 - image).text == "71"
    path = tmp_path / "number.png"
    Image.fromarray(image).save(path)
    assert recognizer.read_number(path).text == "71"


def test_composed_numbers_are_read_right(recognizer, mnist):
    """A small version of benchmarks/numbers.py (500 per set there): MNIST test digits and Hershey
    drawings side by side, some touching."""
    report = evaluate_numbers(recognizer, count=40, seed=7, mnist=mnist)
    assert report["mnist"]["right"] >= 34, report["mnist"]["wrong"]
    assert report["drawn"]["right"] >= 37, report["drawn"]["wrong"]


def test_the_composers_say_what_they_wrote(mnist):
    rng = np.random.default_rng(0)
    for _ in range(5):
        image, text = compose_from_mnist(mnist.test_images, mnist.test_labels, rng)
        assert image.dtype == np.uint8 and 2 <= len(text) <= 5 and text.isdigit()
        image, text = compose_drawn(rng)
        assert image.dtype == np.uint8 and 2 <= len(text) <= 5 and (image < 128).any()


def test_predict_number_on_the_command_line(tmp_path):
    import json

    from PIL import Image

    from .helpers import run_handdigit

    path = tmp_path / "seventy-one.png"
    Image.fromarray(drawn([*SEVEN, *shifted(ONE, 130)])).save(path)
    result = run_handdigit("predict", "--number", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: 71  (7 ")
    result = run_handdigit("predict", "--number", "--json", path)
    line = json.loads(result.stdout)
    assert line["number"] == "71" and [d["digit"] for d in line["digits"]] == [7, 1]
    assert all(len(d["box"]) == 4 for d in line["digits"])
    result = run_handdigit("predict", "--number", "--show", tmp_path / "views", path)
    assert result.returncode == 1 and "does not go with --number" in result.stderr


def test_a_run_counts_as_cut_only_when_it_leaves_part_of_a_stroke_outside():
    """A wide part that may hold touching digits, taken whole, is read as a whole part (under the
    relaxed rule), not as a piece cut out of one."""
    from handdigit.recognition import numbers

    ink = np.zeros((50, 100), np.float32)
    ink[10:40, 10:60] = 1.0
    ink[15:35, 15:55] = 0.0  # a wide ring
    labels = (ink > 0).astype(int)
    part = numbers._Part([1], 10, 10, 60, 40, cuttable=True)
    offsets = np.zeros(50, int)

    def run(start, stop):
        return numbers._run(ink, labels, labels, [part], np.full(50, start), np.full(50, stop), offsets)

    whole, half = run(5, 70), run(5, 35)
    assert whole.cut is False and whole.box == (10, 10, 60, 40)
    assert half.cut is True and half.box == (10, 10, 35, 40)


def test_a_run_is_read_upright_and_as_written():
    """The run's pixels, taken from the sheared ink, are put back where they were for the second
    view: a leaning bar stays leaning there."""
    from handdigit.recognition import numbers

    original = np.zeros((40, 60), np.float32)
    for row in range(5, 35):
        original[row, 40 - row // 2 : 43 - row // 2] = 1.0  # a bar leaning right
    upright, offsets = numbers._upright(original)
    labels = (upright > 0).astype(int)
    part = numbers._Part([1], 0, 5, upright.shape[1], 35)
    left, right = np.zeros(40, int), np.full(40, upright.shape[1])
    run = numbers._run(upright, labels, labels, [part], left, right, offsets)
    margin = max(2, int(numbers.MARGIN * 30))
    written = 1 - run.as_written[margin:-margin, margin:-margin]
    x0, y0, x1, y1 = run.box
    np.testing.assert_array_equal(written, original[y0:y1, x0:x1])
    stood_up = 1 - run.upright[margin:-margin, margin:-margin]
    assert stood_up.shape[1] < written.shape[1]  # upright, the bar is narrower than as written


def test_a_1_far_shorter_than_the_digits_beside_it_is_taken_as_a_piece_of_one():
    """A 4 whose first stroke stands apart: read as "1" and "4" it scores more than as one 4, unless
    a 1 that short is doubtful (ONE_HEIGHT)."""
    from types import SimpleNamespace

    from handdigit.recognition import numbers

    recognizer = SimpleNamespace(calibration=SimpleNamespace(score="digit-odds", threshold=0.5))

    def read(digit, score):
        return SimpleNamespace(digit=digit, score=score, digit_odds=score, not_a_digit=False, confidence=0.99)

    spans = [(0, 1), (1, 2), (0, 2)]
    predictions = {(0, 1): read(1, 15.0), (1, 2): read(4, 15.0), (0, 2): read(4, 18.0)}
    merging = {(0, 1): 0.0, (1, 2): 0.0, (0, 2): 1.0}
    cut = dict.fromkeys(spans, False)
    for short_piece, expected in ((False, [(0, 1), (1, 2)]), (True, [(0, 2)])):
        short_one = {**dict.fromkeys(spans, False), (0, 1): short_piece}
        chosen = numbers._best_reading(recognizer, spans, predictions, merging, cut, short_one, [0, 0, 0])
        assert chosen == expected
