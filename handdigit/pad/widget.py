"""DigitPad: draw a digit in Jupyter (or in the browser, served by `handdigit app`) and watch the
network answer while you draw.

    from handdigit import DigitPad
    DigitPad()                      # or handdigit.draw()

This is the pad's view: it turns ipycanvas' mouse and touch events (a stroke ends on pen-up or when
the pointer leaves the canvas) into calls on its model, a `Drawing` (handdigit.pad.drawing: the
strokes, undo, clear, when a prediction is due), paints the canvas as strokes arrive, and shows
what the `Recognizer` answers, through its public API only. Predictions run while drawing (at most
every `drawing.PREDICT_INTERVAL` seconds) and always on pen-up.

Elements carry stable CSS classes for browser tests: hd-canvas, hd-prediction (+ hd-unsure; +
hd-not-a-digit, with empty text, when the drawing is not a digit, the sentence in
hd-not-a-digit-note, and hd-number-hint when it reads as a number of several digits),
hd-confidence, hd-bar (ten, digits 0-9; greyed inside hd-greyed when not a digit), hd-clear,
hd-undo, hd-upload, hd-status ("ready" once a stroke is answered without compiling),
hd-number-mode (a toggle: a wider canvas read as a number of several digits; .hd-prediction then
holds the number, with class hd-number, each digit is boxed on the canvas, and hd-view shows each
digit's 28x28 view in a row instead of one digit's bars), hd-fool (the "Try to fool it" panel:
hd-fool-fgsm and hd-fool-iterative buttons, the verdict in hd-fool-result), and the "Teach it your
handwriting" box (handdigit.pad.teaching_view: hd-correct buttons with data-digit, hd-teach,
hd-reset, hd-export, hd-import, hd-teach-status, hd-teach-result, hd-forgetting).
"""

import functools
import html
import logging
import threading
import time

import ipywidgets as widgets
import numpy as np
from ipycanvas import MultiCanvas, hold_canvas

from handdigit.pad import activity, panels
from handdigit.pad.drawing import CANVAS_SIZE, Drawing
from handdigit.pad.events import visitor_event
from handdigit.pad.pictures import enlarge, png_bytes
from handdigit.pad.teaching_view import TeachingBox
from handdigit.preprocess import to_mnist

LOG = logging.getLogger("handdigit.pad")


def _show_in_message(pad, sentence):
    pad.message.value = sentence


_visitor_event = visitor_event(_show_in_message)


def _views_in_a_row(views, scale=3, gap=6):
    """(28, 28) views in [0, 1] enlarged `scale` times (pixels stay sharp squares) and set in a
    row, `gap` pixels of grey between them, as uint8; one black square when there are none."""
    if not views:
        return np.zeros((140, 140), np.uint8)
    side = 28 * scale
    row = np.full((side, len(views) * (side + gap) - gap), 96, np.uint8)
    for index, view in enumerate(views):
        left = index * (side + gap)
        row[:, left : left + side] = enlarge(np.round(view * 255).astype(np.uint8), scale)
    return row


def _tolerant(handle_message):
    """ipycanvas' front-end message handler, ignoring (and logging) a message it cannot parse (a
    missing "x", a list where a dict belongs) instead of raising into the page."""

    @functools.wraps(handle_message)
    def guarded(widget, content, buffers):
        try:
            return handle_message(widget, content, buffers)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            LOG.warning("DigitPad: ignored a malformed canvas event %.200r", content)
            return None

    return guarded


PIXEL_RATIO = 2  # backing store pixels per CSS pixel: sharp on high-DPI screens
NUMBER_WIDTH = 2.5  # in number mode the canvas is this many times as wide as it is high
DEFAULT_BRUSH = 18  # CSS pixels: strokes about as wide, relative to the digit, as MNIST's
INK = "#1a1a1a"
PAPER = "#ffffff"
# Okabe-Ito blue and orange: told apart by colour-blind readers; the winner is also bold.
BAR_COLOUR, WINNER_COLOUR, UNSURE_COLOUR = "#0072B2", "#E69F00", "#999999"
BOX_COLOUR = "#D55E00"  # Okabe-Ito vermilion: the boxes of number mode
VIEW_CAPTION = '<div class="hd-caption">What the network sees (28×28):</div>'
NUMBER_VIEW_CAPTION = '<div class="hd-caption">What the network sees, digit by digit (28×28 each):</div>'
VIEW_MAX_WIDTH = 340  # CSS pixels: the results column's width

STYLE = f"""
<style>
.hd-pad {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }}
.hd-canvas {{ border: 1px solid #888; border-radius: 6px; touch-action: none; cursor: crosshair;
  background: {PAPER}; }}
.hd-canvas:focus {{ outline: 3px solid {BAR_COLOUR}; outline-offset: -3px; }}
.hd-answer {{ display: flex; align-items: baseline; gap: 14px; min-height: 76px; }}
.hd-prediction {{ font-size: 64px; font-weight: 700; line-height: 1; min-width: 40px; color: #111; }}
.hd-prediction.hd-unsure {{ color: #777; }}
.hd-not-a-digit-note {{ font-size: 22px; font-weight: 600; color: #555; }}
.hd-bars.hd-greyed .hd-fill, .hd-bars.hd-greyed .hd-bar.hd-winner .hd-fill {{ background: #b8b8b8; opacity: 0.8; }}
.hd-bars.hd-greyed {{ color: #777; }}
.hd-confidence {{ font-size: 22px; color: #333; }}
.hd-note {{ color: #555; font-size: 14px; }}
.hd-bars {{ display: grid; grid-template-columns: 1.2em 1fr; gap: 3px 6px; align-items: center;
  width: 100%; max-width: 320px; }}
.hd-digit {{ text-align: right; font-weight: 600; color: #333; }}
.hd-bar {{ position: relative; height: 18px; background: #eee; border-radius: 3px; font-size: 12px;
  line-height: 18px; padding-left: 4px; overflow: hidden; color: #111; }}
.hd-fill {{ position: absolute; left: 0; top: 0; bottom: 0; background: {BAR_COLOUR}; opacity: 0.55; }}
.hd-bar.hd-winner {{ font-weight: 700; }}
.hd-bar.hd-winner .hd-fill {{ background: {WINNER_COLOUR}; opacity: 0.9; }}
.hd-bar span {{ position: relative; }}
.hd-status {{ font-size: 13px; color: #555; }}
.hd-digits {{ font-size: 15px; color: #333; }}
.hd-message {{ color: #b00020; font-size: 14px; min-height: 1.2em; }}
.hd-caption {{ font-size: 13px; color: #444; margin: 4px 0 2px; }}
.hd-pad img {{ image-rendering: pixelated; }}
.hd-gallery {{ gap: 16px; }}
.hd-pad .widget-html-content {{ line-height: 1.4; }}
.hd-summary {{ font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; line-height: 1.3;
  white-space: pre; overflow-x: auto; }}
</style>
"""

HELP = (
    "Draw a digit with the mouse, a finger or a pen. Keys on the canvas: Backspace or Ctrl+Z undo, "
    "Escape or Delete clear."
)


class DigitPad(widgets.VBox):
    """A drawing pad with live predictions, the network's view and a look inside the network."""

    def __init__(
        self,
        recognizer=None,
        brush=DEFAULT_BRUSH,
        size=CANVAS_SIZE,
        warm_up=True,
        data_dir=None,
        user_dir=None,
    ):
        """recognizer: default the shipped weights (or those you taught it, if any); warm_up: load
        and compile in a background thread (the status says when the pad is ready); data_dir: MNIST
        for "random test digit" and for teaching's replay (default: $HANDDIGIT_DATA, or the
        download cache); user_dir: where your examples and taught weights are kept (default
        $HANDDIGIT_USER_DIR or your data directory; "session": in this pad only)."""
        super().__init__()
        from handdigit.pad.personal import PersonalStore

        self.data_dir = data_dir
        self.store = PersonalStore.for_pad(user_dir)
        self._own_recognizer = recognizer is not None
        self.add_class("hd-pad")
        self.size = size
        self.drawing = Drawing(size)  # the model: strokes, image shown, pen state
        self.prediction = None  # the latest Prediction, or None before anything was drawn
        self.reading = None  # in number mode: the latest NumberReading
        self._number_hint = None  # in one-digit mode: the number a drawing that is not a digit reads as
        self._recognizer = recognizer
        self._ready = threading.Event()  # set when the network is loaded, or failed to load
        self._load_error = None
        self._lock = threading.RLock()
        self._test_set = None
        self._rng = np.random.default_rng()
        self.timings = []  # seconds from pen-up to the updated outputs, for benchmarks
        self._build(brush)
        self._refresh_outputs()
        if warm_up:
            threading.Thread(target=self._warm_up, name="handdigit-warmup", daemon=True).start()
        else:
            self._warm_up()

    # --- layout ---------------------------------------------------------------------------
    def _build(self, brush):
        size = self.size
        self.canvas = MultiCanvas(
            3,  # paper, ink, and the boxes of number mode
            width=size * PIXEL_RATIO,
            height=size * PIXEL_RATIO,
            layout=widgets.Layout(width=f"{size}px", height=f"{size}px"),
        )
        self.canvas.add_class("hd-canvas")
        self.canvas.on_client_ready(self._on_client_ready)
        self.canvas.on_mouse_down(self._on_pen_down)
        self.canvas.on_mouse_move(self._on_pen_move)
        self.canvas.on_mouse_up(self._on_pen_up)
        self.canvas.on_mouse_out(self._on_pen_up)
        self.canvas.on_touch_start(lambda touches: self._on_pen_down(*_first_touch(touches)))
        self.canvas.on_touch_move(lambda touches: self._on_pen_move(*_first_touch(touches)))
        self.canvas.on_touch_end(lambda touches: self._on_pen_up())
        self.canvas.on_touch_cancel(lambda touches: self._on_pen_up())
        self.canvas.on_key_down(self._on_key)
        top = self.canvas[-1]  # the layer that receives the browser's events
        top.on_msg(top._handle_frontend_event, remove=True)
        top.on_msg(_tolerant(top._handle_frontend_event))

        self.clear_button = widgets.Button(
            description="Clear", icon="eraser", tooltip="Clear the canvas (Escape)"
        )
        self.clear_button.add_class("hd-clear")
        self.clear_button.on_click(lambda _: self.clear())
        self.undo_button = widgets.Button(
            description="Undo", icon="undo", tooltip="Remove the last stroke (Backspace)"
        )
        self.undo_button.add_class("hd-undo")
        self.undo_button.on_click(lambda _: self.undo())
        self.brush = widgets.IntSlider(
            value=brush,
            min=4,
            max=40,
            description="Brush",
            tooltip="Pen width in pixels",
            continuous_update=False,
            layout=widgets.Layout(width="260px"),
        )
        self.upload = widgets.FileUpload(
            layout=widgets.Layout(width="auto"),
            accept="image/*",
            multiple=False,
            description="Upload image",
            tooltip="Recognise a digit in an image file",
        )
        self.upload.add_class("hd-upload")
        self.upload.observe(self._on_upload, names="value")
        self.test_button = widgets.Button(
            description="Random test digit",
            icon="random",
            tooltip="Show an MNIST test digit and its prediction",
        )
        self.test_button.add_class("hd-random")
        self.test_button.on_click(lambda _: self.show_test_digit())
        self.number_mode = widgets.ToggleButton(
            value=False,
            description="Number mode",
            icon="list-ol",
            tooltip="Write a number of several digits on a wider canvas",
        )
        self.number_mode.add_class("hd-number-mode")
        self.number_mode.layout.width = "auto"
        self.number_mode.observe(lambda change: self.set_number_mode(change["new"]), names="value")
        for button in (self.clear_button, self.undo_button, self.test_button):
            button.layout.width = "auto"

        self.status = widgets.HTML(self._status_html("loading the network…"))
        self.message = widgets.HTML("")
        self.answer = widgets.HTML()
        self.bars = widgets.HTML()
        self.view_image = widgets.Image(format="png", width=140, height=140)
        self.view_image.add_class("hd-view")
        self.view_caption = widgets.HTML(VIEW_CAPTION)

        self.inside = widgets.VBox()
        self.model_panel = widgets.VBox()
        self.fool_result = widgets.VBox()
        fool_buttons = []
        for method, label, tip in (
            ("fgsm", "FGSM (one step)", "The fast gradient sign method: every pixel moved once"),
            ("iterative", "Iterative (ten steps)", "Ten small gradient steps, within the same budget"),
        ):
            button = widgets.Button(description=label, tooltip=tip, layout=widgets.Layout(width="auto"))
            button.add_class(f"hd-fool-{method}")
            button.on_click(lambda _, method=method: self.try_to_fool(method))
            fool_buttons.append(button)
        self.fool_panel = widgets.VBox(
            [
                widgets.HTML(f'<div class="hd-caption hd-fool-intro">{panels.FOOL_INTRO}</div>'),
                widgets.HBox(fool_buttons),
                self.fool_result,
            ]
        )
        self.fool_panel.add_class("hd-fool")
        if self.store.on_disk:
            where = f"Kept in {html.escape(str(self.store.directory))}."
        else:
            where = "Kept in this page only, until your session ends: export them to keep them."
        base_name = "the network given to the pad" if self._own_recognizer else "the shipped weights"
        self.teaching = TeachingBox(self._current_example, self._use_recognizer, where, base_name)
        self.panels = widgets.Accordion(
            children=[self.inside, self.model_panel, self.fool_panel], selected_index=None
        )
        self.panels.set_title(0, "Look inside the network")
        self.panels.set_title(1, "The model")
        self.panels.set_title(2, "Try to fool it")
        self.panels.observe(self._on_panel, names="selected_index")

        self.drawing_box = widgets.VBox(
            [self.canvas, widgets.HBox([self.clear_button, self.undo_button, self.number_mode])],
            layout=widgets.Layout(width=f"{size + 10}px", margin="0 24px 8px 0"),
        )
        results = widgets.VBox(
            [
                self.answer,
                self.message,
                self.bars,
                self.view_caption,
                self.view_image,
            ],
            layout=widgets.Layout(min_width="240px", max_width="360px", flex="1 1 240px"),
        )
        tools = widgets.HBox(
            [self.test_button, self.upload, self.brush],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center", margin="4px 0"),
        )
        self.children = [
            widgets.HTML(STYLE),
            self.status,
            widgets.HBox(
                [self.drawing_box, results],
                layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
            ),
            tools,
            widgets.HTML(f'<div class="hd-caption">{HELP}</div>'),
            self.teaching,
            self.panels,
        ]

    @staticmethod
    def _status_html(text):
        return f'<span class="hd-status" role="status">{html.escape(text)}</span>'

    # --- the network ----------------------------------------------------------------------
    def _warm_up(self):
        from handdigit.pad.teaching import Teacher

        try:
            if self._recognizer is None:
                from handdigit.recognition.recognizer import Recognizer

                self._recognizer = Recognizer.load()
            self._recognizer.warmup()
            teacher = Teacher(
                self.store, self._recognizer, self._load_mnist, keep_taught=not self._own_recognizer
            )
            note = teacher.restore()
            self._recognizer = teacher.recognizer
        except Exception as error:  # shown on the page: the pad cannot predict at all
            self._load_error = error
            self.status.value = self._status_html(f"cannot load the network: {error}")
            self._ready.set()
            return
        self._ready.set()
        self.teaching.set_teacher(teacher, note)
        self.status.value = self._status_html("ready")
        if self.panels.selected_index == 1 and not self.model_panel.children:
            self.model_panel.children = self._model_children()
        with self._lock:
            if not self.drawing.is_empty:
                self._predict_drawing()

    @property
    def recognizer(self):
        """The Recognizer, once loaded (waits for the warm-up); raises if it could not load."""
        self._ready.wait()
        if self._load_error is not None:
            raise RuntimeError(f"the network could not be loaded: {self._load_error}") from self._load_error
        return self._recognizer

    @property
    def ready(self):
        """True once a stroke is answered without waiting for the network."""
        return self._ready.is_set() and self._load_error is None

    # --- pen events -----------------------------------------------------------------------
    def _canvas_point(self, x, y):
        try:
            return (float(x) / PIXEL_RATIO, float(y) / PIXEL_RATIO)
        except (TypeError, ValueError):
            return None  # a malformed event: Drawing ignores it

    @_visitor_event
    def _on_pen_down(self, x, y):
        with self._lock:
            showed_image = self.drawing.source != "drawing"
            if not self.drawing.pen_down(self._canvas_point(x, y), self.brush.value):
                return  # not a point (a malformed event) or the drawing is full
            if showed_image:  # drawing over an upload or a test digit starts a new drawing
                self.message.value = ""
                self._redraw_canvas()
            (x, y) = self.drawing.strokes[-1][0]
            self.canvas[1].fill_style = INK
            self.canvas[1].fill_circle(x * PIXEL_RATIO, y * PIXEL_RATIO, self.brush.value * PIXEL_RATIO / 2)

    @_visitor_event
    def _on_pen_move(self, x, y):
        with self._lock:
            segment = self.drawing.pen_move(self._canvas_point(x, y))
            if segment is None:
                return
            (previous_x, previous_y), (x, y) = segment
            layer = self.canvas[1]
            with hold_canvas():
                self._set_pen(layer, self.drawing.widths[-1])
                layer.stroke_line(*(value * PIXEL_RATIO for value in (previous_x, previous_y, x, y)))
            if self.drawing.prediction_due():
                self._predict_drawing(while_drawing=True)

    @_visitor_event
    def _on_pen_up(self, *_):
        with self._lock:
            if not self.drawing.pen_up():
                return
            if len(self.drawing.strokes[-1]) > 1:  # a stroke, not a click: the visitor is drawing
                activity.note_drawing()
            started = time.perf_counter()
            self._predict_drawing()
            self.timings.append(time.perf_counter() - started)
            self._refresh_inside()

    @_visitor_event
    def _on_key(self, key, shift, ctrl, meta):
        if not isinstance(key, str):
            return
        if key in ("Backspace",) or (key.lower() == "z" and (ctrl or meta)):
            self.undo()
        elif key in ("Escape", "Delete"):
            self.clear()

    @staticmethod
    def _set_pen(layer, width):
        layer.stroke_style = INK
        layer.fill_style = INK
        layer.line_width = width * PIXEL_RATIO
        layer.line_cap = "round"
        layer.line_join = "round"

    # --- actions --------------------------------------------------------------------------
    def clear(self):
        """Remove every stroke (and any uploaded or test image)."""
        with self._lock:
            self.drawing.clear()
            self.message.value = ""
            self._redraw_canvas()
            self.prediction = self.reading = None
            self._refresh_outputs()
            self._refresh_inside()

    def undo(self):
        """Remove the last stroke."""
        with self._lock:
            if self.drawing.source != "drawing":
                self.clear()
                return
            if self.drawing.undo():
                self._redraw_canvas()
            self._predict_drawing()
            self._refresh_inside()

    def draw(self, strokes, width=None):
        """Add strokes (lists of (x, y) in CSS pixels) as if drawn with the pen; returns the prediction."""
        if width is not None:
            self.brush.value = width
        for stroke in strokes:
            (x, y), *rest = stroke
            self._on_pen_down(x * PIXEL_RATIO, y * PIXEL_RATIO)
            for x, y in rest:
                self._on_pen_move(x * PIXEL_RATIO, y * PIXEL_RATIO)
            self._on_pen_up()
        return self.prediction

    def set_number_mode(self, on):
        """Number mode on: a canvas NUMBER_WIDTH times as wide, read as a number of several digits
        (Recognizer.read_number), each digit boxed with what it was read as; off: one digit. The
        drawing starts again either way."""
        on = bool(on)
        with self._lock:
            if self.number_mode.value != on:
                self.number_mode.value = on  # calls back here through the toggle's observer
                return
            width = round(NUMBER_WIDTH * self.size) if on else self.size
            self.drawing.resize(width)
            self.canvas.width = width * PIXEL_RATIO
            self.canvas.layout.width = f"{width}px"
            self.drawing_box.layout.width = f"{width + 10}px"
            self.message.value = ""
            self.prediction = self.reading = None
            self._redraw_canvas()
            self._refresh_outputs()
            self._refresh_inside()

    @_visitor_event
    def try_to_fool(self, method="iterative"):
        """Find the smallest change that makes the network misread the current digit (panel "Try
        to fool it"); returns the Attack, or None when there is nothing to attack."""
        with self._lock:
            prediction = self.prediction
            if self.number_mode.value:
                problem = "Switch number mode off to fool one digit."
            elif not self.ready:
                problem = "The network is still loading."
            elif prediction is None or prediction.digit is None:
                problem = "Draw a digit first."
            else:
                problem = None
            if problem:
                self.fool_result.children = [
                    widgets.HTML(f'<div class="hd-note hd-fool-result">{problem}</div>')
                ]
                return None
            attack = self._recognizer.fool(prediction, method)
            self.fool_result.children = panels.fooled(attack, prediction.input28)
            return attack

    def predict_image(self, image, name="image", source="upload"):
        """Show any image the Recognizer reads (bytes, path, array...) with its prediction."""
        from handdigit.recognition.images import UnreadableImage, load_image

        activity.note_drawing()
        with self._lock:
            try:
                luminance, alpha = load_image(image, name=name)
            except UnreadableImage as error:
                self.message.value = f'<div class="hd-message" role="alert">Cannot use that file: {html.escape(str(error))}</div>'
                return None
            paper = luminance if alpha is None else alpha * luminance + (1 - alpha)
            self.drawing.show_image(np.round(255 * paper).astype(np.uint8), source)
            self.message.value = ""
            self._redraw_canvas()
            if self.number_mode.value:
                self._show_reading(paper)
                return self.reading
            view = to_mnist(luminance, alpha)
            self._show_view(view)
            self._suggest_number_mode(paper)
            return self.prediction

    def show_test_digit(self, index=None):
        """Show an MNIST test digit (random unless `index`), its label and the prediction."""
        with self._lock:
            try:
                images, labels = self._mnist_test_set()
            except Exception as error:  # no data here and no network: say what to do
                self.message.value = f'<div class="hd-message" role="alert">{html.escape(str(error))}</div>'
                return None
            index = int(self._rng.integers(len(labels))) if index is None else int(index)
            activity.note_drawing()
            self.drawing.show_image(255 - images[index], "test digit")
            self.message.value = ""
            self._redraw_canvas()
            self._show_view(images[index].astype(np.float32) / 255, prepared=True)
            label = int(labels[index])
            verdict = "right" if self.prediction.digit == label else "wrong"
            self.message.value = (
                f'<div class="hd-note">MNIST test digit #{index}: labelled <b>{label}</b>; '
                f"the network is {verdict}.</div>"
            )
            return self.prediction

    def _mnist_test_set(self):
        if self._test_set is None:
            mnist = self._load_mnist()
            self._test_set = (mnist.test_images, mnist.test_labels)
        return self._test_set

    def _load_mnist(self):
        from handdigit.data import load_mnist

        return load_mnist(self.data_dir, progressbar=False)

    # --- teaching -------------------------------------------------------------------------
    def correct(self, digit):
        """ "It is really a `digit`": keep the current drawing in your personal set (what the
        hd-correct buttons do); returns the set's size, or None (the reason is shown)."""
        return self.teaching.correct(digit)

    def teach(self, background=True):
        """Teach the network your examples (the hd-teach button); with background=False wait and
        return the TeachingReport."""
        return self.teaching.teach(background=background)

    def reset_weights(self):
        """Answer with the shipped weights again (the hd-reset button); your examples stay."""
        self.teaching.reset()

    def _current_example(self):
        """The drawing to keep as an example: (H, W) uint8, paper white; or why there is none."""
        with self._lock:
            if self.number_mode.value:
                return "Switch number mode off to correct one digit at a time."
            if self.drawing.source != "drawing":
                return self.drawing.background.copy()
            image = self.drawing.ink()
            if image is None:
                return "Draw a digit first, then click the digit it really is."
            return np.round(255 * image).astype(np.uint8)

    def _use_recognizer(self, recognizer):
        """Answer with `recognizer` from now on (taught or reset), and answer the drawing again."""
        with self._lock:
            self._recognizer = recognizer
            self.model_panel.children = ()
            if self.panels.selected_index == 1:
                self.model_panel.children = self._model_children()
            if self.drawing.is_empty:
                return
            if self.drawing.source == "drawing":
                self._predict_drawing()
            elif self.number_mode.value:
                self._show_reading(self.drawing.background.astype(np.float32) / 255)
            elif self.prediction is not None and self.prediction.digit is not None:
                self._show_view(self.prediction.input28, prepared=True)
            self._refresh_inside()

    # --- outputs --------------------------------------------------------------------------
    def _predict_drawing(self, while_drawing=False):
        self.drawing.predicted()
        if self.drawing.source != "drawing":
            return
        image = self.drawing.ink()
        if image is None:
            self.prediction = self.reading = None
            self.canvas[2].clear()
            self._refresh_outputs()
            return
        if self.number_mode.value:
            self._show_reading(image)
            return
        self._show_view(to_mnist(image))
        if not while_drawing:  # a number is read once the pen is up, not at every move
            self._suggest_number_mode(image)

    def _suggest_number_mode(self, image):
        """One-digit mode, a drawing that is not a digit but reads as a number of several digits
        (`image` paper white, in [0, 1]): say so, and where numbers are read. Drawing "10" is what
        users of one-digit demos try first."""
        if self.prediction is None or not self.prediction.not_a_digit:
            return
        reading = self._recognizer.read_number(image)
        apart = all(left[2] < right[0] for left, right in zip(reading.boxes, reading.boxes[1:], strict=False))
        if len(reading.text) >= 2 and apart:  # (cutting one shape can make digit-like halves)
            self._number_hint = reading.text
            self._refresh_outputs()

    def _show_reading(self, image):
        """Number mode: read the number in `image` (paper white, in [0, 1]) and box its digits."""
        if not self.ready:
            self.reading = None
            self._refresh_outputs(waiting=True)
            return
        self.reading = self._recognizer.read_number(image)
        self.prediction = self.reading.digits[0] if self.reading.digits else None
        boxes = self.canvas[2]
        scale = self._background_scale() if self.drawing.source != "drawing" else (PIXEL_RATIO, 0, 0)
        factor, left, top = scale
        with hold_canvas():
            boxes.clear()
            boxes.stroke_style = BOX_COLOUR
            boxes.fill_style = BOX_COLOUR
            boxes.line_width = 2
            boxes.font = f"{14 * PIXEL_RATIO}px sans-serif"
            for prediction, (x0, y0, x1, y1) in zip(self.reading.digits, self.reading.boxes, strict=True):
                boxes.stroke_rect(
                    left + x0 * factor, top + y0 * factor, (x1 - x0) * factor, (y1 - y0) * factor
                )
                boxes.fill_text(str(prediction.digit), left + x0 * factor + 2, top + y0 * factor - 4)
        self._refresh_outputs()

    def _background_scale(self):
        """(canvas pixels per image pixel, left, top) of the background image as painted."""
        height, width = self.size * PIXEL_RATIO, self.drawing.width * PIXEL_RATIO
        image_height, image_width = self.drawing.background.shape
        scale = min(width / image_width, height / image_height)
        shown_width, shown_height = max(1, round(image_width * scale)), max(1, round(image_height * scale))
        return scale, (width - shown_width) // 2, (height - shown_height) // 2

    def _show_view(self, view, prepared=False):
        self.reading = None  # one digit shown: no number
        self._number_hint = None
        if not self.ready:
            self.prediction = None
            self._refresh_outputs(waiting=True)
            return
        recognizer = self._recognizer
        if view is None:
            self.prediction = recognizer.no_digit()
        else:
            self.prediction = recognizer.predict_prepared(view)
        self._refresh_outputs()

    def _refresh_outputs(self, waiting=False):
        self.teaching.set_correctable(
            not waiting
            and not self.number_mode.value
            and self.prediction is not None
            and self.prediction.digit is not None
        )
        if self.number_mode.value and not waiting and self.reading is not None:
            self._refresh_number_outputs()
            return
        self.bars.layout.display = None
        self.view_caption.value = VIEW_CAPTION
        prediction = self.prediction
        if prediction is None or prediction.digit is None:
            if waiting and self._load_error is not None:
                note = "The network could not be loaded (see the status above)."
            elif waiting:
                note = "loading the network…"
            elif prediction is None and self.drawing.source == "drawing":
                note = "Draw a digit on the canvas."
            else:
                note = "No digit here: draw or upload one."
            self.answer.value = (
                f'<div class="hd-answer" data-pen-ups="{self.drawing.pen_ups}">'
                '<span class="hd-prediction" aria-label="predicted digit"></span>'
                f'<span class="hd-confidence"></span></div><div class="hd-note">{note}</div>'
            )
            self.bars.value = self._bars_html(np.zeros(10), None)
            self._show_image(np.zeros((140, 140), np.uint8))
            return
        if prediction.not_a_digit:
            self.answer.value = (
                f'<div class="hd-answer" data-pen-ups="{self.drawing.pen_ups}">'
                '<span class="hd-prediction hd-not-a-digit" aria-label="predicted digit"></span>'
                '<span class="hd-not-a-digit-note" role="status">That doesn\'t look like a digit</span>'
                '<span class="hd-confidence"></span></div>'
                f'<div class="hd-note">The closest digit would be {prediction.digit} '
                f"({prediction.confidence:.0%}): the bars show what the network would have said.</div>"
            )
            if self._number_hint:
                self.answer.value += (
                    f'<div class="hd-note hd-number-hint">It reads as the number {self._number_hint}: '
                    "switch on <b>Number mode</b> to read numbers of several digits.</div>"
                )
            self.bars.value = self._bars_html(prediction.probabilities, prediction.digit, greyed=True)
            self._show_image(_views_in_a_row([prediction.input28], scale=5))
            return
        unsure = " hd-unsure" if prediction.uncertain else ""
        note = (
            "Unsure: the network is not confident. Try drawing it larger or clearer."
            if prediction.uncertain
            else "&nbsp;"
        )
        self.answer.value = (
            f'<div class="hd-answer" data-pen-ups="{self.drawing.pen_ups}">'
            f'<span class="hd-prediction{unsure}" aria-label="predicted digit">'
            f"{prediction.digit}</span>"
            f'<span class="hd-confidence" aria-label="confidence">{prediction.confidence:.0%}</span></div>'
            f'<div class="hd-note">{note}</div>'
        )
        self.bars.value = self._bars_html(prediction.probabilities, prediction.digit)
        self._show_image(_views_in_a_row([prediction.input28], scale=5))

    def _refresh_number_outputs(self):
        """Number mode: .hd-prediction holds the number read; each digit's confidence below."""
        reading = self.reading
        digits = " · ".join(f"{p.digit} {p.confidence:.0%}" for p in reading.digits)
        note = (
            f'<span class="hd-digits">{len(reading.digits)} digits, left to right: {digits}</span>'
            if reading.digits
            else "No number here: write digits side by side."
        )
        self.answer.value = (
            f'<div class="hd-answer" data-pen-ups="{self.drawing.pen_ups}">'
            f'<span class="hd-prediction hd-number" aria-label="number read">{html.escape(reading.text)}</span>'
            f'<span class="hd-confidence"></span></div><div class="hd-note">{note}</div>'
        )
        self.bars.layout.display = "none"  # ten bars belong to one digit: each digit's view instead
        self.view_caption.value = NUMBER_VIEW_CAPTION
        self._show_image(_views_in_a_row([p.input28 for p in reading.digits]))

    def _show_image(self, image):
        """Show an (h, w) uint8 image under "What the network sees", at its own size (at most the
        column's width)."""
        height, width = image.shape
        shrink = min(1.0, VIEW_MAX_WIDTH / width)
        self.view_image.width, self.view_image.height = round(width * shrink), round(height * shrink)
        self.view_image.value = png_bytes(image)

    @staticmethod
    def _bars_html(probabilities, winner, greyed=False):
        rows = []
        for digit, probability in enumerate(probabilities):
            winner_class = " hd-winner" if digit == winner else ""
            rows.append(
                f'<span class="hd-digit">{digit}</span>'
                f'<div class="hd-bar{winner_class}" role="meter" aria-label="probability of {digit}" '
                f'aria-valuemin="0" aria-valuemax="100" aria-valuenow="{100 * probability:.0f}">'
                f'<div class="hd-fill" style="width:{100 * probability:.1f}%"></div>'
                f"<span>{probability:.0%}</span></div>"
            )
        return f'<div class="hd-bars{" hd-greyed" if greyed else ""}">{"".join(rows)}</div>'

    # --- canvas ---------------------------------------------------------------------------
    @_visitor_event
    def _on_client_ready(self):
        """A page has connected to the canvas: paint it, and send the status again, in case the
        warm-up's "ready" went out while no page listened (a page then waited at "loading the
        network" for ever, about one load in eight on a busy machine); the teaching box's state,
        set by the warm-up too, likewise."""
        self._redraw_canvas()
        self.status.send_state("value")
        self.teaching.send_state_again()

    def _redraw_canvas(self):
        """Paint the paper (and any background image) and every stroke; also for a new client."""
        paper, ink = self.canvas[0], self.canvas[1]
        with hold_canvas():
            paper.clear()
            paper.fill_style = PAPER
            paper.fill_rect(0, 0, self.drawing.width * PIXEL_RATIO, self.size * PIXEL_RATIO)
            self.canvas[2].clear()
            if self.drawing.background is not None:
                paper.put_image_data(self._fitted_background(), 0, 0)
            ink.clear()
            for stroke, width in zip(self.drawing.strokes, self.drawing.widths, strict=True):
                self._set_pen(ink, width)
                points = np.asarray(stroke) * PIXEL_RATIO
                if len(points) == 1:
                    ink.fill_circle(points[0, 0], points[0, 1], width * PIXEL_RATIO / 2)
                else:
                    ink.stroke_lines(points)

    def _fitted_background(self):
        """The background image scaled to fit the canvas (nearest neighbour), as RGB on white."""
        from PIL import Image

        height, width = self.size * PIXEL_RATIO, self.drawing.width * PIXEL_RATIO
        image = Image.fromarray(self.drawing.background)
        scale = min(width / image.width, height / image.height)
        resample = Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.LANCZOS
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), resample
        )
        canvas = np.full((height, width), 255, np.uint8)
        top, left = (height - image.height) // 2, (width - image.width) // 2
        canvas[top : top + image.height, left : left + image.width] = np.asarray(image)
        return np.repeat(canvas[:, :, None], 3, axis=2)

    # --- panels ---------------------------------------------------------------------------
    @_visitor_event
    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        file = files[0]
        self.predict_image(bytes(file["content"]), name=file["name"])
        self.upload.value = ()  # so that the same file can be chosen again

    @_visitor_event
    def _on_panel(self, change):
        if change["new"] == 0:
            self._refresh_inside()
        elif change["new"] == 1 and not self.model_panel.children:
            if self._load_error is not None:
                message = html.escape(f"The network could not be loaded: {self._load_error}")
                self.model_panel.children = [widgets.HTML(f'<div class="hd-message">{message}</div>')]
            elif self.ready:
                self.model_panel.children = self._model_children()

    def _refresh_inside(self):
        if self.panels.selected_index != 0 or not self.ready:
            return
        self.inside.children = self._inside_children()

    def _inside_children(self):
        prediction = self.prediction
        if prediction is None or prediction.digit is None:
            return [
                widgets.HTML('<div class="hd-note">Draw a digit to see what the network does with it.</div>')
            ]
        return panels.look_inside(self._recognizer.explain_prediction(prediction))

    def _model_children(self):
        return panels.model_card(self.recognizer)


def _first_touch(touches):
    """(x, y) of the first touch of an ipycanvas touch event, (None, None) when there is none."""
    try:
        x, y = touches[0]
        return x, y
    except (TypeError, ValueError, IndexError, KeyError):
        return None, None


def draw(**kwargs):
    """A new DigitPad (what a notebook cell shows)."""
    return DigitPad(**kwargs)
