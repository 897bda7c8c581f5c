"""What is drawn on the pad, and when to ask for a prediction: the pad's model, in plain Python.

    drawing = Drawing(size=280)
    drawing.pen_down((120, 40), width=18)
    drawing.pen_move((80, 160))          # the segment to paint, and whether a prediction is due
    drawing.pen_up()                     # True: a stroke ended, predict now
    drawing.ink()                        # (280, 280) float32 paper-white image of the strokes, or None
    drawing.undo(); drawing.clear()

Points are (x, y) in CSS pixels of a canvas `size` high and `width` wide (square by default; wider
for a number of several digits: `resize`). Strokes keep every point and their pen
width, so undo and a redraw repeat them exactly; the ink raster grows by the same segments as they
arrive (`handdigit.preprocess.draw_stroke`), so a prediction never has to redraw the digit.
While the pen moves, a prediction is due at most every `predict_interval` seconds; on pen-up, always.
A point that is not a pair of finite numbers is ignored, one far off the canvas is clamped to its
border, and a drawing holds at most MAX_STROKES strokes of MAX_POINTS points in all (the events come
from a browser, which a visitor controls).

The pad can also show an image instead of strokes (an upload, an MNIST test digit): `show_image`.
Drawing again, undo or clear go back to an empty drawing. DigitPad (handdigit.pad.widget) is the
view of this model: it turns canvas events into these calls and paints what they return.
"""

import time

import numpy as np

from handdigit.preprocess import coverage_to_image, draw_stroke

CANVAS_SIZE = 280  # CSS pixels
PREDICT_INTERVAL = 0.08  # seconds between predictions while the pen moves
SOURCES = ("drawing", "upload", "test digit")
MAX_STROKES = 500  # a drawing's bounds: one visitor cannot grow the server's memory without end
MAX_POINTS = 50_000  # all strokes together; a second of drawing sends about 60


class Drawing:
    """Pen strokes on a square canvas, their ink, and the pen's state."""

    def __init__(
        self, size=CANVAS_SIZE, predict_interval=PREDICT_INTERVAL, clock=time.perf_counter, width=None
    ):
        self.size = size  # the canvas's height (and its width, unless `width` says otherwise)
        self.width = width if width is not None else size
        self.predict_interval = predict_interval
        self._clock = clock
        self.strokes = []  # each a list of (x, y) points in CSS pixels
        self.widths = []  # the pen width (CSS pixels) of each stroke
        self.source = "drawing"  # what the pad shows: one of SOURCES
        self.background = None  # (H, W) uint8 image shown instead of strokes (an upload, a test digit)
        self.coverage = np.zeros((size, self.width), np.float32)  # ink in [0, 1], grown segment by segment
        self.pen_is_down = False
        self.pen_ups = 0  # strokes finished so far (browser tests time pen-up to answer with it)
        self._last_prediction = -np.inf

    @property
    def is_empty(self):
        """True when there is nothing to predict: no stroke and no image."""
        return not self.strokes and self.background is None

    # --- the pen ------------------------------------------------------------------------------
    def _accepted(self, point):
        """`point` as an (x, y) of floats clamped to the canvas, or None when it is not a point or
        the drawing is full."""
        try:
            x, y = (float(value) for value in point)
        except (TypeError, ValueError):
            return None
        if not (np.isfinite(x) and np.isfinite(y)) or self.points >= MAX_POINTS:
            return None
        return (min(max(x, 0.0), float(self.width)), min(max(y, 0.0), float(self.size)))

    @property
    def points(self):
        """How many points all strokes hold."""
        return sum(len(stroke) for stroke in self.strokes)

    def pen_down(self, point, width):
        """Start a stroke at `point` with pen `width` (an image shown before is cleared first);
        False when the point or width is not valid, or the drawing is full."""
        point = self._accepted(point)
        try:
            width = float(width)
        except (TypeError, ValueError):
            return False
        if point is None or not 0 < width <= min(self.size, self.width) or len(self.strokes) >= MAX_STROKES:
            return False
        if self.source != "drawing":
            self.clear()
        self.strokes.append([point])
        self.widths.append(width)
        self.pen_is_down = True
        draw_stroke(self.coverage, [point], width)
        return True

    def pen_move(self, point):
        """Extend the stroke to `point`: the segment (previous, point) to paint, or None when the pen
        is up (a pointer moving over the canvas without drawing)."""
        point = self._accepted(point)
        if not self.pen_is_down or point is None:
            return None
        previous = self.strokes[-1][-1]
        self.strokes[-1].append(point)
        draw_stroke(self.coverage, [previous, point], self.widths[-1])
        return previous, point

    def pen_up(self):
        """End the stroke; True when one was being drawn (then predict: always on pen-up)."""
        if not self.pen_is_down:
            return False
        self.pen_is_down = False
        self.pen_ups += 1
        return True

    def prediction_due(self):
        """True while the pen draws and the last prediction is `predict_interval` seconds old."""
        return self.pen_is_down and self._clock() - self._last_prediction >= self.predict_interval

    def predicted(self):
        """Note that a prediction was just made (for `prediction_due`)."""
        self._last_prediction = self._clock()

    # --- editing ------------------------------------------------------------------------------
    def undo(self):
        """Remove the last stroke (or the image shown); True when something was removed."""
        if self.source != "drawing":
            self.clear()
            return True
        if not self.strokes:
            return False
        self.strokes.pop()
        self.widths.pop()
        self.pen_is_down = False
        self.coverage[:] = 0
        for stroke, width in zip(self.strokes, self.widths, strict=True):
            draw_stroke(self.coverage, stroke, width)
        return True

    def clear(self):
        """Back to an empty drawing: no strokes, no image."""
        self.strokes, self.widths = [], []
        self.pen_is_down = False
        self.background = None
        self.source = "drawing"
        self.coverage[:] = 0

    def resize(self, width):
        """A canvas `width` CSS pixels wide (the height stays): the drawing starts again."""
        self.width = int(width)
        self.coverage = np.zeros((self.size, self.width), np.float32)
        self.clear()

    def show_image(self, background, source):
        """Show an image instead of strokes: background (H, W) uint8, paper white; source
        "upload" or "test digit"."""
        if source not in SOURCES[1:]:
            raise ValueError(f"show_image: source must be one of {SOURCES[1:]}, got {source!r}")
        self.clear()
        self.background = np.asarray(background, np.uint8)
        self.source = source

    # --- what to predict ----------------------------------------------------------------------
    def ink(self):
        """The strokes as a (size, width) float32 image in [0, 1], dark ink on white paper (what a
        canvas shows), or None when there is no stroke."""
        if not self.strokes:
            return None
        return coverage_to_image(self.coverage).astype(np.float32) / np.float32(255)
