"""The check of what people draw first on the pad (handdigit.evaluation.first_drawings): it reports
what `Recognizer.predict` says of each drawing at each pen, and the model card shows it."""

import pytest

from handdigit.evaluation.first_drawings import (
    CANVAS,
    FIRST_DRAWINGS,
    PENS,
    check_first_drawings,
    first_drawings_markdown,
)
from handdigit.preprocess import rasterize
from handdigit.recognition.recognizer import Recognizer


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


def test_each_drawing_at_each_pen_is_what_predict_says_of_it(recognizer):
    report = check_first_drawings(recognizer)
    assert report["pens"] == list(PENS) and list(report["drawings"]) == list(FIRST_DRAWINGS)
    flags = []
    for name, entries in report["drawings"].items():
        assert [entry["pen"] for entry in entries] == list(PENS)
        for entry in entries:
            prediction = recognizer.predict(rasterize(FIRST_DRAWINGS[name], CANVAS, entry["pen"]))
            assert entry["not_a_digit"] == prediction.not_a_digit and entry["digit"] == prediction.digit
            assert entry["score"] == pytest.approx(prediction.score, abs=1e-4)
            flags.append(prediction.not_a_digit)
    assert report["flagged"] == pytest.approx(sum(flags) / len(flags))


def test_the_drawings_are_on_the_pad_s_canvas():
    from handdigit.pad.drawing import CANVAS_SIZE

    assert CANVAS == CANVAS_SIZE  # evaluation comes before the pad, so it cannot import the size


def test_the_table_says_not_a_digit_or_the_digit_taken():
    entries = [
        {"pen": 8, "not_a_digit": False, "digit": 6, "confidence": 0.673, "score": -15.0},
        {"pen": 18, "not_a_digit": True, "digit": 6, "confidence": 0.41, "score": -20.9},
    ]
    table = first_drawings_markdown({"pens": [8, 18], "drawings": {"L": entries}, "flagged": 0.5})
    assert "| drawing | 8 px | 18 px |" in table
    assert "| L | **6** (67%) | not a digit |" in table
    assert "**50%**" in table
    assert first_drawings_markdown(None) == ""
