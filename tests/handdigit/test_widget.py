"""DigitPad driven through ipycanvas' own event handler, as the browser's events would drive it."""

import io
import re

import numpy as np
import pytest

from handdigit.pad.widget import PIXEL_RATIO, DigitPad
from handdigit.preprocess import rasterize

# Strokes in CSS pixels on the 280 px canvas, drawn the way a person would.
ONE = [[(150, 45), (147, 120), (143, 235)]]
SEVEN = [[(80, 60), (200, 58), (160, 140), (120, 240)]]
ZERO = [[(140 + 60 * np.sin(t), 140 - 95 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]]
FOUR = [[(120, 40), (80, 160), (200, 160)], [(170, 90), (170, 250)]]


@pytest.fixture(scope="module")
def shipped():
    from handdigit import Recognizer

    return Recognizer.load()


@pytest.fixture
def pad(shipped, mnist_dir):
    return DigitPad(recognizer=shipped, warm_up=False, data_dir=mnist_dir)


def send(pad, event, **content):
    """One front-end message, exactly as ipycanvas' JavaScript sends it to the top layer."""
    pad.canvas[-1]._handle_frontend_event(None, {"event": event, **content}, [])


def draw_with_mouse(pad, strokes, leave_instead_of_up=False):
    for stroke in strokes:
        (x, y), *rest = [(x * PIXEL_RATIO, y * PIXEL_RATIO) for x, y in stroke]
        send(pad, "mouse_down", x=x, y=y)
        for x, y in rest:
            send(pad, "mouse_move", x=x, y=y)
        send(pad, "mouse_out" if leave_instead_of_up else "mouse_up", x=x, y=y)


def shown_digit(pad):
    match = re.search(r'class="hd-prediction[^"]*"[^>]*>([^<]*)<', pad.answer.value)
    return match.group(1)


def bar_percentages(pad):
    return [
        int(p)
        for p in re.findall(r'<div class="hd-bar[^"]*"[^>]*>.*?<span>(\d+)%</span></div>', pad.bars.value)
    ]


@pytest.mark.parametrize(("strokes", "digit"), [(ONE, 1), (SEVEN, 7), (ZERO, 0), (FOUR, 4)])
def test_a_drawn_digit_updates_strokes_view_prediction_and_bars(pad, strokes, digit):
    draw_with_mouse(pad, strokes)
    assert len(pad.drawing.strokes) == len(strokes)
    assert [len(s) for s in pad.drawing.strokes] == [len(s) for s in strokes]
    assert pad.prediction.digit == digit, pad.prediction.probabilities.round(3)
    assert shown_digit(pad) == str(digit)
    assert pad.prediction.input28.max() > 0.5 and pad.prediction.input28.shape == (28, 28)
    percentages = bar_percentages(pad)
    assert len(percentages) == 10 and abs(sum(percentages) - 100) <= 5
    assert int(np.argmax(percentages)) == digit
    assert f"{pad.prediction.confidence:.0%}" in pad.answer.value
    png = bytes(pad.view_image.value)
    assert len(png) > 100 and png.startswith(b"\x89PNG")


def test_the_incremental_ink_equals_rasterizing_the_recorded_strokes(pad):
    draw_with_mouse(pad, FOUR)
    pad.brush.value = 9
    draw_with_mouse(pad, [[(30, 30), (60, 50)]])
    assert pad.drawing.widths == [18, 18, 9]
    assert np.array_equal(rasterize_widths(pad), np.round(255 * (1 - pad.drawing.coverage)).astype(np.uint8))


def rasterize_widths(pad):
    images = [
        rasterize([stroke], 280, width)
        for stroke, width in zip(pad.drawing.strokes, pad.drawing.widths, strict=True)
    ]
    return np.minimum.reduce(images)


def test_undo_and_clear(pad):
    draw_with_mouse(pad, FOUR)
    assert pad.prediction.digit == 4
    pad.undo()
    assert len(pad.drawing.strokes) == 1
    alone = DigitPad(recognizer=pad.recognizer, warm_up=False)
    alone.draw(FOUR[:1])
    assert np.array_equal(pad.prediction.probabilities, alone.prediction.probabilities)
    assert np.array_equal(rasterize_widths(pad), np.round(255 * (1 - pad.drawing.coverage)).astype(np.uint8))
    pad.clear()
    assert pad.drawing.strokes == [] and pad.prediction is None
    assert shown_digit(pad) == "" and "Draw a digit" in pad.answer.value
    assert bar_percentages(pad) == [0] * 10
    pad.undo()  # nothing left: harmless
    assert pad.drawing.strokes == []


def test_keys_on_the_canvas_undo_and_clear(pad):
    draw_with_mouse(pad, FOUR)
    send(pad, "key_down", key="Backspace", shift_key=False, ctrl_key=False, meta_key=False)
    assert len(pad.drawing.strokes) == 1
    send(pad, "key_down", key="z", shift_key=False, ctrl_key=True, meta_key=False)
    assert pad.drawing.strokes == []
    draw_with_mouse(pad, ONE)
    send(pad, "key_down", key="Escape", shift_key=False, ctrl_key=False, meta_key=False)
    assert pad.drawing.strokes == [] and pad.prediction is None


def test_a_stroke_ends_when_the_pointer_leaves(pad):
    draw_with_mouse(pad, ONE, leave_instead_of_up=True)
    assert pad.prediction.digit == 1
    send(pad, "mouse_move", x=10, y=10)  # moving without the button: no ink
    send(pad, "mouse_up", x=10, y=10)
    assert len(pad.drawing.strokes) == 1 and len(pad.drawing.strokes[0]) == 3


def test_touch_draws_like_the_mouse(pad):
    for stroke in SEVEN:
        points = [{"x": x * PIXEL_RATIO, "y": y * PIXEL_RATIO} for x, y in stroke]
        send(pad, "touch_start", touches=points[:1])
        for point in points[1:]:
            send(pad, "touch_move", touches=[point])
        send(pad, "touch_end", touches=[])
    assert len(pad.drawing.strokes) == 1 and pad.prediction.digit == 7


def upload(pad, name, data):
    pad.upload.set_state(
        {
            "value": [
                {
                    "name": name,
                    "type": "image/png",
                    "size": len(data),
                    "last_modified": 0,
                    "content": memoryview(data),
                }
            ]
        }
    )


def test_an_uploaded_image_is_predicted_and_a_bad_one_explained(pad):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(255 - rasterize(SEVEN, 280, 20)).convert("RGB").save(
        buffer, format="JPEG"
    )  # white on black
    upload(pad, "seven.jpg", buffer.getvalue())
    assert pad.drawing.source == "upload" and pad.prediction.digit == 7 and shown_digit(pad) == "7"
    assert pad.upload.value == ()  # ready for the next file
    assert pad.message.value == ""
    upload(pad, "notes.png", b"this is not an image")
    assert "Cannot use that file: notes.png" in pad.message.value and 'role="alert"' in pad.message.value
    assert pad.prediction.digit == 7  # the last good answer stays
    draw_with_mouse(pad, ONE)  # drawing again replaces the upload
    assert pad.drawing.source == "drawing" and pad.prediction.digit == 1 and pad.message.value == ""


def test_a_random_test_digit_shows_its_label_and_the_prediction(pad):
    prediction = pad.show_test_digit(index=0)  # MNIST's first test digit is a 7
    assert prediction.digit == 7 and pad.drawing.source == "test digit"
    assert "labelled <b>7</b>" in pad.message.value and "right" in pad.message.value
    assert pad.drawing.background.shape == (28, 28)


def test_without_mnist_the_test_digit_button_says_what_to_do(shipped, tmp_path):
    pad = DigitPad(recognizer=shipped, warm_up=False, data_dir=tmp_path)
    assert pad.show_test_digit() is None
    assert str(tmp_path) in pad.message.value


def test_the_look_inside_panel_shows_maps_of_the_right_shapes(pad, shipped):
    draw_with_mouse(pad, SEVEN)
    pad.panels.selected_index = 0
    (row,) = pad.inside.children
    captions = [box.children[0].value for box in row.children]
    assert len(captions) == 4
    assert "32 channels, 26×26" in captions[0] and "64 channels, 24×24" in captions[1]
    assert "Saliency" in captions[2] and "first-layer filters" in captions[3]
    explanation = shipped.explain_prediction(pad.prediction)
    assert [m.shape for m in explanation.feature_maps.values()] == [(26, 26, 32), (24, 24, 64)]
    assert explanation.saliency.shape == (28, 28) and explanation.filters.shape == (32, 3, 3)
    before = row.children[2].children[1].value
    draw_with_mouse(pad, [[(100, 150), (190, 150)]])  # a crossbar: the panel follows the drawing
    assert pad.inside.children[0].children[2].children[1].value != before


def test_the_model_panel_shows_the_model_card(pad):
    pad.panels.selected_index = 1
    text = " ".join(child.value for child in pad.model_panel.children if hasattr(child, "value"))
    assert "Test accuracy" in text and "Total params: 2,380,938" in text


def test_the_canvas_is_sharp_on_high_dpi_screens(pad):
    assert pad.canvas.width == 280 * PIXEL_RATIO and pad.canvas.layout.width == "280px"
    assert "hd-canvas" in pad.canvas._dom_classes
    assert "hd-clear" in pad.clear_button._dom_classes and "hd-undo" in pad.undo_button._dom_classes
    assert "hd-upload" in pad.upload._dom_classes


def test_warming_up_in_the_background_then_answering_what_was_drawn_meanwhile(shipped):
    import threading
    import time

    gate = threading.Event()

    class SlowToWarm:
        """The shipped recognizer, whose warm-up waits for the test to let it finish."""

        def __getattr__(self, name):
            return getattr(shipped, name)

        def warmup(self):
            gate.wait(10)
            shipped.warmup()

    pad = DigitPad(recognizer=SlowToWarm(), warm_up=True)
    assert "loading" in pad.status.value and not pad.ready
    draw_with_mouse(pad, ONE)
    assert pad.prediction is None and "loading the network" in pad.answer.value
    gate.set()
    deadline = time.monotonic() + 20
    while pad.prediction is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ">ready<" in pad.status.value
    assert pad.prediction.digit == 1


def test_a_network_that_cannot_load_is_reported_and_nothing_hangs(tmp_path):
    from handdigit import Recognizer

    class Broken:
        def warmup(self):
            raise FileNotFoundError("the shipped weights weights/handdigit-cnn.npz are missing")

    pad = DigitPad(recognizer=Broken(), warm_up=False)
    assert "cannot load the network" in pad.status.value and "missing" in pad.status.value
    assert not pad.ready
    with pytest.raises(RuntimeError, match="could not be loaded"):
        pad.recognizer  # noqa: B018 - the property must raise, not wait forever
    draw_with_mouse(pad, ONE)
    assert pad.prediction is None and "could not be loaded" in pad.answer.value
    pad.panels.selected_index = 1
    assert "could not be loaded" in pad.model_panel.children[0].value
    assert isinstance(Recognizer, type)


def test_malformed_events_from_a_visitor_are_ignored_without_a_traceback(pad, caplog, capsys):
    """Messages as a hand-made client could send them, through the widget's comm path: nothing
    raises or prints, the log has them, and the pad still draws a seven afterwards."""
    top = pad.canvas[-1]
    for content in (
        {"event": "mouse_down"},
        {"event": "mouse_down", "x": "left", "y": None},
        {"event": "mouse_move", "x": float("nan"), "y": 3},
        {"event": "touch_start", "touches": [5]},
        {"event": "touch_move", "touches": "everywhere"},
        {"event": "key_down", "key": 7, "shift_key": 0, "ctrl_key": 0, "meta_key": 0},
        ["not", "a", "dict"],
    ):
        top._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "malformed canvas event" in caplog.text
    assert pad.drawing.strokes == []
    draw_with_mouse(pad, SEVEN)
    assert shown_digit(pad) == "7"


def test_a_failing_handler_shows_one_sentence_and_logs_the_traceback(pad, caplog, monkeypatch):
    monkeypatch.setattr(pad.drawing, "pen_up", lambda: 1 / 0)
    draw_with_mouse(pad, SEVEN)
    assert pad.message.value == "Something went wrong with that; please try again."
    assert "ZeroDivisionError" in caplog.text


def test_a_page_that_connects_late_is_sent_the_status_again(pad, monkeypatch):
    """The warm-up's "ready" can go out while no page listens; a connecting page gets it anyway."""
    sent = []
    monkeypatch.setattr(pad.status, "send_state", lambda key=None: sent.append(key))
    monkeypatch.setattr(pad.teaching.status, "send_state", lambda key=None: sent.append(("teaching", key)))
    send(pad, "client_ready")
    assert sent == ["value", ("teaching", "value")] and "ready" in pad.status.value
    assert "data-examples" in pad.teaching.status.value


def shifted(strokes, dx):
    return [[(x + dx, y) for x, y in stroke] for stroke in strokes]


def test_number_mode_widens_the_canvas_and_reads_the_number(pad):
    from PIL import Image

    draw_with_mouse(pad, SEVEN)
    assert shown_digit(pad) == "7"
    pad.number_mode.value = True  # the toggle, as a click sets it
    assert "hd-number-mode" in pad.number_mode._dom_classes
    assert (
        pad.drawing.width == 700
        and pad.canvas.width == 700 * PIXEL_RATIO
        and pad.canvas.layout.width == "700px"
    )
    assert pad.drawing.is_empty and pad.reading is None and shown_digit(pad) == ""  # a new drawing
    draw_with_mouse(pad, [*shifted(SEVEN, -40), *shifted(ONE, 150), *shifted(FOUR, 360)])
    assert pad.reading.text == "714" and shown_digit(pad) == "714"
    assert 'class="hd-prediction hd-number"' in pad.answer.value
    assert "3 digits, left to right: 7" in pad.answer.value
    # no ten bars for three digits: each digit's 28x28 view instead, in a row, as the network saw it
    assert pad.bars.layout.display == "none" and "digit by digit" in pad.view_caption.value
    row = np.asarray(Image.open(io.BytesIO(pad.view_image.value)))
    assert row.shape == (84, 3 * 84 + 2 * 6) and int(pad.view_image.width) == row.shape[1]
    for index, prediction in enumerate(pad.reading.digits):
        view = row[::3, index * 90 : index * 90 + 84 : 3] / 255
        assert np.abs(view - prediction.input28).max() < 0.01
    lefts = [box[0] for box in pad.reading.boxes]
    assert lefts == sorted(lefts) and lefts[0] < 100 < lefts[1] < 350 < lefts[2]
    pad.undo()  # the 4's second stroke goes: no longer 714
    assert pad.reading.text != "714"
    pad.clear()
    assert pad.reading is None and shown_digit(pad) == ""
    pad.set_number_mode(False)
    assert not pad.number_mode.value and pad.drawing.width == 280 and pad.canvas.width == 280 * PIXEL_RATIO
    draw_with_mouse(pad, ONE)
    assert shown_digit(pad) == "1" and pad.reading is None
    assert pad.bars.layout.display is None and int(pad.view_image.width) == 140


def test_a_number_drawn_in_one_digit_mode_is_not_a_digit_and_points_to_number_mode(pad):
    small = [[((x - 140) * 0.45 + 140 + dx, (y - 140) * 0.45 + 140) for x, y in s] for dx, strokes in ((-70, SEVEN), (70, FOUR)) for s in strokes]  # fmt: skip
    draw_with_mouse(pad, small)  # "74", each digit at 45% of the canvas
    assert pad.prediction.not_a_digit and "hd-not-a-digit" in pad.answer.value
    assert 'class="hd-note hd-number-hint"' in pad.answer.value and "the number 74" in pad.answer.value
    pad.clear()
    draw_with_mouse(pad, SEVEN)  # a digit: no hint
    assert shown_digit(pad) == "7" and "hd-number-hint" not in pad.answer.value
    pad.clear()
    star = [[(140 + 95 * np.sin(k * 4 * np.pi / 5), 150 - 95 * np.cos(k * 4 * np.pi / 5)) for k in range(6)]]
    draw_with_mouse(pad, star)  # not a digit, and not digits side by side
    assert pad.prediction.not_a_digit and "hd-number-hint" not in pad.answer.value
    pad.clear()


def test_an_uploaded_number_is_read_in_number_mode(pad):
    from PIL import Image

    pad.set_number_mode(True)
    buffer = io.BytesIO()
    Image.fromarray(rasterize([*SEVEN, *shifted(ZERO, 200)], (280, 520), 18)).save(buffer, format="PNG")
    upload(pad, "seventy.png", buffer.getvalue())
    assert pad.drawing.source == "upload" and pad.reading.text == "70" and shown_digit(pad) == "70"


def test_try_to_fool_it_finds_a_small_change_that_flips_the_answer(pad):
    assert "hd-fool" in pad.fool_panel._dom_classes
    assert [c.description for c in pad.fool_panel.children[1].children] == [
        "FGSM (one step)",
        "Iterative (ten steps)",
    ]
    assert pad.try_to_fool("fgsm") is None and "Draw a digit first." in pad.fool_result.children[0].value
    draw_with_mouse(pad, SEVEN)
    before = pad.prediction
    for method in ("fgsm", "iterative"):
        attack = pad.try_to_fool(method)
        assert attack.fooled and attack.prediction.digit != before.digit == 7
        assert attack.linf <= attack.epsilon + 1e-6 and attack.epsilon <= 0.3
        assert attack.image.min() >= 0 and attack.image.max() <= 1
        np.testing.assert_allclose(attack.image - before.input28, attack.change, atol=1e-6)
        # the changed view really reads as the new digit
        assert pad.recognizer.predict_prepared(attack.image).digit == attack.prediction.digit
        text = pad.fool_result.children[0].value
        assert (
            f"Now read as <b>{attack.prediction.digit}</b>" in text
            and "L2 size" in text
            and "L∞ size" in text
        )
    assert pad.prediction is before  # the drawing's own answer is unchanged
    pad.set_number_mode(True)
    assert pad.try_to_fool() is None and "number mode off" in pad.fool_result.children[0].value
