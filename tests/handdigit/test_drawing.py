"""The pad's model (handdigit.pad.drawing) without any widget: strokes, ink, undo, clear, images
shown instead of strokes, and when a prediction is due."""

import numpy as np
import pytest

from handdigit.pad.drawing import Drawing
from handdigit.preprocess import rasterize

FOUR = [[(120, 40), (80, 160), (200, 160)], [(170, 90), (170, 250)]]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def draw(drawing, strokes, width=18):
    for first, *rest in strokes:
        drawing.pen_down(first, width)
        for point in rest:
            drawing.pen_move(point)
        drawing.pen_up()


def test_ink_grown_point_by_point_equals_rasterizing_the_strokes():
    drawing = Drawing(280)
    draw(drawing, FOUR)
    draw(drawing, [[(30, 30), (60, 50)]], width=9)
    assert drawing.strokes == [
        [(120, 40), (80, 160), (200, 160)],
        [(170, 90), (170, 250)],
        [(30, 30), (60, 50)],
    ]
    assert drawing.widths == [18, 18, 9]
    expected = np.minimum(rasterize(FOUR, 280, 18), rasterize([[(30, 30), (60, 50)]], 280, 9))
    np.testing.assert_array_equal(np.round(255 * drawing.ink()).astype(np.uint8), expected)
    assert drawing.pen_ups == 3


def test_pen_move_returns_the_segment_to_paint_only_while_the_pen_is_down():
    drawing = Drawing(280)
    assert drawing.pen_move((10, 10)) is None and drawing.strokes == []
    drawing.pen_down((10, 10), 18)
    assert drawing.pen_move((20, 30)) == ((10, 10), (20, 30))
    assert drawing.pen_up() is True
    assert drawing.pen_up() is False  # a second pen-up (pointer out after up) ends nothing
    assert drawing.pen_move((40, 40)) is None
    assert drawing.strokes == [[(10, 10), (20, 30)]]


def test_undo_removes_the_last_stroke_and_its_ink():
    drawing, alone = Drawing(280), Drawing(280)
    draw(drawing, FOUR)
    draw(alone, FOUR[:1])
    assert drawing.undo() is True
    assert drawing.strokes == alone.strokes
    np.testing.assert_array_equal(drawing.coverage, alone.coverage)
    assert drawing.undo() is True and drawing.ink() is None and drawing.is_empty
    assert drawing.undo() is False  # nothing left: harmless


def test_clear_and_an_image_shown_instead_of_strokes():
    drawing = Drawing(280)
    draw(drawing, FOUR)
    drawing.show_image(np.full((28, 28), 255, np.uint8), "test digit")
    assert (drawing.source, drawing.strokes, drawing.ink()) == ("test digit", [], None)
    assert not drawing.is_empty and drawing.background.shape == (28, 28)
    drawing.pen_down((50, 50), 18)  # drawing over the image starts a new drawing
    assert drawing.source == "drawing" and drawing.background is None and len(drawing.strokes) == 1
    drawing.show_image(np.zeros((10, 20), np.uint8), "upload")
    assert drawing.undo() is True and drawing.is_empty and drawing.source == "drawing"
    draw(drawing, FOUR)
    drawing.clear()
    assert drawing.is_empty and not drawing.coverage.any() and not drawing.pen_is_down
    with pytest.raises(ValueError, match="source must be one of"):
        drawing.show_image(np.zeros((4, 4), np.uint8), "drawing")


def test_a_prediction_is_due_while_drawing_at_most_every_interval():
    clock = Clock()
    drawing = Drawing(280, predict_interval=0.08, clock=clock)
    assert not drawing.prediction_due()  # pen up
    drawing.pen_down((10, 10), 18)
    assert drawing.prediction_due()  # nothing predicted yet
    drawing.predicted()
    clock.now = 0.05
    drawing.pen_move((20, 20))
    assert not drawing.prediction_due()
    clock.now = 0.081
    assert drawing.prediction_due()
    drawing.pen_up()
    assert not drawing.prediction_due()  # pen-up predicts anyway: the view does it on pen_up()


def test_points_that_are_not_points_are_ignored_and_far_ones_clamped():
    drawing = Drawing(size=280)
    for bad in [(float("nan"), 5), (5, float("inf")), ("x", 5), None, (1, 2, 3), ("1e999", 5)]:
        assert drawing.pen_down(bad, 18) is False
    assert drawing.strokes == [] and drawing.is_empty
    assert drawing.pen_down((1e308, -1e308), 18) is True  # a finite point far off: on the border
    assert drawing.pen_move((float("nan"), 3)) is None
    assert drawing.pen_move((140, 140)) == ((280.0, 0.0), (140.0, 140.0))
    assert drawing.strokes == [[(280.0, 0.0), (140.0, 140.0)]]
    assert np.isfinite(drawing.coverage).all()
    for width in (0, -3, float("nan"), 1e9, "wide"):
        assert drawing.pen_down((10, 10), width) is False


def test_a_drawing_holds_a_bounded_number_of_strokes_and_points():
    from handdigit.pad.drawing import MAX_POINTS, MAX_STROKES

    drawing = Drawing(size=280)
    accepted = sum(
        drawing.pen_down((10 + i % 200, 20), 2) and drawing.pen_up() for i in range(MAX_STROKES + 50)
    )
    assert accepted == MAX_STROKES and len(drawing.strokes) == MAX_STROKES
    drawing.clear()
    drawing.pen_down((0, 0), 2)
    moved = sum(drawing.pen_move((i % 280, (i // 280) % 280)) is not None for i in range(MAX_POINTS + 1000))
    assert drawing.points == MAX_POINTS and moved == MAX_POINTS - 1
