"""The evaluation proxies: each makes the inputs it promises, and the skeleton tracer draws every
pixel once, jumping between pieces."""

import numpy as np
import pytest

from handdigit.data.drawings import NOT_A_DIGIT
from handdigit.data.hershey import glyph
from handdigit.evaluation import proxies
from handdigit.evaluation.pictograms import PICTOGRAMS, pictogram


@pytest.mark.parametrize("name", proxies.DIGIT_PROXIES + proxies.NONDIGIT_PROXIES)
def test_each_proxy_makes_drawings_with_the_right_labels(name, mnist):
    images, labels = proxies.make_proxy(name, 12, seed=1, mnist=mnist)
    assert images.shape == (12, proxies.CANVAS, proxies.CANVAS) and images.dtype == np.uint8
    assert np.all(images.reshape(12, -1).min(axis=1) < 128)  # ink on every one
    if name in proxies.NONDIGIT_PROXIES:
        assert np.all(labels == NOT_A_DIGIT)
    else:
        assert labels.min() >= 0 and labels.max() <= 9
    again, _ = proxies.make_proxy(name, 12, seed=1, mnist=mnist)
    np.testing.assert_array_equal(again, images)


def test_the_typed_characters_leave_out_what_reads_as_a_digit():
    assert not set(proxies.LETTERS_AND_SYMBOLS) & set("OoIlSZGbqgsz0123456789|/")


def test_typed_characters_come_only_from_fonts_whose_glyph_is_that_character():
    from fontTools import agl
    from fontTools.ttLib import TTFont

    fonts = {path.name: path for path in proxies.font_paths()}
    digit_fonts = {path.name for path in proxies.fonts_typing("7", list(fonts.values()))}
    assert {"DejaVuSans.ttf", "STIXGeneral.ttf", "cmr10.ttf"} <= digit_fonts
    if "cmsy10.ttf" in fonts:  # matplotlib's math symbol font: its "7" is a mapsto arrow, not a 7
        assert "cmsy10.ttf" not in digit_fonts
        with pytest.raises(ValueError, match="'1'"):
            proxies.typed("1", np.random.default_rng(0), [fonts["cmsy10.ttf"]])
    for character in "0123456789" + proxies.LETTERS_AND_SYMBOLS:
        for path in proxies.fonts_typing(character, list(fonts.values())):
            name = TTFont(str(path), lazy=True).getBestCmap()[ord(character)]
            assert agl.toUnicode(name.replace("oldstyle", "")) == character, (path.name, character, name)


def test_trace_visits_every_pixel_and_jumps_between_pieces():
    skeleton = np.zeros((10, 12), bool)
    skeleton[2, 1:6] = True  # a bar
    skeleton[6:9, 8] = True  # another piece
    path = proxies.trace(skeleton)
    visited = {(int(y - 0.5), int(x - 0.5)) for x, y in path}
    assert visited == {tuple(p) for p in np.argwhere(skeleton)}
    steps = np.hypot(*np.diff(path, axis=0).T)
    assert (steps > 1.5).sum() == 1  # one pen-up jump, every other step to a neighbour
    assert tuple(path[0]) == (1.5, 2.5)  # from the top-most end


def test_a_traced_drawing_keeps_every_stroke_and_draws_the_pen_up_jump():
    image = np.full((60, 60), 255, np.uint8)
    image[10:14, 5:25] = 0  # a bar at the top
    image[40:44, 35:55] = 0  # another, lower and to the right
    for points in (None, 8):  # `traced` at full resolution, `tablet-8`
        drawn = proxies.tablet(image, points, 3.0)
        assert drawn[12, 15] < 128 and drawn[42, 45] < 128  # both bars
        assert (drawn[20:34] < 128).any()  # the line from one bar to the other, where no ink was
    full = proxies.tablet(image, None, 3.0)
    assert np.count_nonzero(full < 128) > np.count_nonzero(proxies.tablet(image, 3, 3.0) < 128)


def test_evaluate_proxies_reports_accuracy_flags_and_scores(mnist):
    report = proxies.evaluate_proxies(count=10, mnist=mnist, names=["mnist-test", "shapes"])
    digits, shapes = report["proxies"]["mnist-test"], report["proxies"]["shapes"]
    assert digits["kind"] == "digits" and 0 <= digits["accuracy"] <= 1 and len(digits["per_class"]) == 10
    assert (
        shapes["kind"] == "not digits"
        and 0 <= shapes["flagged_not_a_digit"] <= 1
        and "accuracy" not in shapes
    )
    assert len(digits["scores"]["energy"]) == 10 - digits["blank"]
    assert any("mnist-test" in line for line in proxies.summary_lines(report))
    assert "are not named" in proxies.summary_lines(report)[-1]  # 10 shapes: no kind drawn 20 times
    # the shipped rule averages over views: every input's full average for the sweep, the gate checked
    assert len(shapes["scores"]["rule"]) == 10 - shapes["blank"] and shapes["gate_disagreements"] == 0
    assert report["calibration"]["threshold"] == report["calibration"]["views"]["threshold"]
    inputs = 20 - digits["blank"] - shapes["blank"]
    assert f"for {inputs} of {inputs} inputs)" in proxies.summary_lines(report)[-2]


@pytest.mark.parametrize("name", proxies.DIGIT_PROXIES + proxies.NONDIGIT_PROXIES)
def test_asking_for_the_kinds_draws_the_same_images_and_names_each(name, mnist):
    images, labels = proxies.make_proxy(name, 16, seed=2, mnist=mnist)
    same, same_labels, kinds = proxies.make_proxy(name, 16, seed=2, mnist=mnist, with_kinds=True)
    np.testing.assert_array_equal(same, images)
    np.testing.assert_array_equal(same_labels, labels)
    assert len(kinds) == 16 and all(isinstance(kind, str) and kind for kind in kinds)
    if name in proxies.DIGIT_PROXIES:
        assert kinds == [str(label) for label in labels]
    elif name == "shapes":
        assert set(kinds) <= set(proxies.SHAPE_KINDS)
    elif name == "pictograms":
        assert set(kinds) <= set(PICTOGRAMS)
    elif name == "hershey-symbols":
        assert set(kinds) <= set(proxies.HERSHEY_SYMBOLS)
    elif name == "numbers":
        assert set(kinds) <= {"2 MNIST digits", "3 MNIST digits", "2 Hershey digits", "3 Hershey digits"}
    else:
        assert set(kinds) <= set(proxies.LETTERS_AND_SYMBOLS)


def test_the_kinds_a_pictogram_proxy_names_are_the_pictures_drawn():
    """Each pictogram redrawn alone by the kind the proxy names, with the proxy's own random
    stream, is the proxy's image."""
    images, _, kinds = proxies.make_proxy("pictograms", 8, seed=4, with_kinds=True)
    rng = np.random.default_rng(
        [4, (proxies.FIRST_PROXIES + list(proxies.LATER_PROXIES)).index("pictograms")]
    )
    for image, kind in zip(images, kinds, strict=True):
        redrawn, redrawn_kind = pictogram(rng, proxies.CANVAS)
        assert redrawn_kind == kind
        np.testing.assert_array_equal(redrawn, image)


def test_the_rejection_of_each_kind_is_what_the_recognizer_answers_for_it():
    """Per kind of pictogram, the share rejected matches predict() one image at a time, the kinds'
    inputs add up, and their weighted shares make the proxy's figure."""
    from handdigit.recognition.recognizer import Recognizer

    recognizer = Recognizer.load()
    report = proxies.evaluate_proxies(recognizer, count=60, seed=3, names=["pictograms"])
    entry = report["proxies"]["pictograms"]
    images, _, kinds = proxies.make_proxy("pictograms", 60, seed=3, with_kinds=True)
    answers = [recognizer.predict(image).not_a_digit for image in images]
    assert 0 < entry["flagged_not_a_digit"] < 1  # both answers occur
    by_kind = entry["rejected_by_kind"]
    assert sum(figures["inputs"] for figures in by_kind.values()) == 60
    for kind, figures in by_kind.items():
        mine = [answer for answer, other in zip(answers, kinds, strict=True) if other == kind]
        assert figures["inputs"] == len(mine) and figures["rejected"] == pytest.approx(np.mean(mine))
    weighted = sum(figures["inputs"] * figures["rejected"] for figures in by_kind.values()) / 60
    assert weighted == pytest.approx(entry["flagged_not_a_digit"])


def test_the_least_rejected_kinds_leave_out_kinds_with_few_inputs():
    entry = {
        "rejected_by_kind": {
            "fish": {"inputs": 40, "rejected": 0.5},
            "key": {"inputs": 40, "rejected": 0.9},
            "umbrella": {"inputs": 40, "rejected": 0.2},
            "rare": {"inputs": proxies.MIN_KIND_INPUTS - 1, "rejected": 0.0},
            "sun": {"inputs": 40, "rejected": 1.0},
        }
    }
    assert proxies.least_rejected(entry) == [("umbrella", 0.2), ("fish", 0.5), ("key", 0.9)]
    assert proxies.weakest_text(entry) == "umbrella: 20%, fish: 50%, key: 90%"
    digits = {"per_class": [1.0, 0.9, None, 0.95, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0]}
    assert proxies.weakest_text(digits) == "6: 80%, 1: 90%, 3: 95%"


def test_a_proxy_added_later_leaves_the_earlier_ones_drawing_the_same_images():
    earlier = [
        "mnist-test",
        "typed",
        "typed-pen",
        "tablet-8",
        "hershey-8",
        "coarse-scan",
        "slanted-squashed",
        "corner",
        "thick-thin",
        "styles",
        "typed-symbols",
        "typed-symbols-pen",
        "hershey-letters",
        "shapes",
    ]
    assert sorted(earlier) == proxies.FIRST_PROXIES  # each stream is numbered by this order
    assert set(proxies.LATER_PROXIES).isdisjoint(earlier)


def test_every_hershey_symbol_key_draws_a_glyph_of_its_own():
    for font, keys in proxies.HERSHEY_SYMBOLS.items():
        drawn = [np.concatenate(glyph(key, font)) for key in keys]
        assert all(len(points) > 1 for points in drawn), font
        if font == "japanese":  # keys without a glyph draw the same diamond: none of those is used
            missing = np.concatenate(glyph(";", font))
            assert not any(points.shape == missing.shape and np.allclose(points, missing) for points in drawn)


@pytest.mark.parametrize("kind", sorted(PICTOGRAMS))
def test_every_pictogram_draws_ink_the_recognizer_can_read(kind):
    from handdigit.preprocess import to_mnist

    rng = np.random.default_rng(0)
    for _ in range(3):
        image, drawn = pictogram(rng, proxies.CANVAS, kind)
        assert drawn == kind and image.shape == (proxies.CANVAS, proxies.CANVAS) and image.dtype == np.uint8
        assert (image < 128).any() and to_mnist(image.astype(np.float32) / 255) is not None


def test_an_unknown_pictogram_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown pictogram 'dragon'; known: stick-figure"):
        pictogram(np.random.default_rng(0), kind="dragon")


def test_the_pictograms_are_not_training_s_shapes():
    from handdigit.data import nondigits

    trained = {kind for _, kind in nondigits.kind_names()}
    assert not set(PICTOGRAMS) & trained


def test_a_blurred_scan_is_the_digit_smooth_and_grey(mnist):
    """Where the scan's ink lies is where the digit's is (after both are cropped to their ink and
    fitted to 28x28); its edges are soft (no step between neighbouring canvas pixels larger than a
    fifth of the ink range) and its ink comes in many grey levels."""
    from PIL import Image

    def fitted(ink):
        rows, cols = np.flatnonzero(ink.max(axis=1) > 40), np.flatnonzero(ink.max(axis=0) > 40)
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return np.asarray(Image.fromarray(crop).resize((28, 28), Image.Resampling.BILINEAR), np.float64)

    rng = np.random.default_rng(5)
    for digit in mnist.test_images[:6]:
        scan = proxies.blurred_scan(digit, rng)
        ink = 255 - scan
        assert np.corrcoef(fitted(ink).ravel(), fitted(digit).ravel())[0, 1] > 0.6
        steps = (
            np.abs(np.diff(ink.astype(np.int16), axis=1)).max(),
            np.abs(np.diff(ink.astype(np.int16), axis=0)).max(),
        )
        assert max(steps) < 0.2 * ink.max()
        assert len(np.unique(ink)) > 50


@pytest.mark.parametrize("grow", [1, 2])
def test_a_thick_scan_is_the_coarse_scan_with_more_ink_around_every_stroke(mnist, grow):
    """Same digit, same random draws: the thick scan has at least the coarse scan's ink in every
    canvas pixel, more ink in all, and a 0's hole (the paper in the canvas's middle) shrinks."""
    for index, digit in enumerate(mnist.test_images[:6]):
        thin = 255 - proxies.coarse_scan(digit, np.random.default_rng(index)).astype(np.int16)
        thick = 255 - proxies.coarse_scan(digit, np.random.default_rng(index), grow=grow).astype(np.int16)
        assert (thick >= thin - 1).all() and thick.sum() > 1.15 * thin.sum()

    def paper_inside(ink):  # the scan is centred on the canvas, so is the 0's hole
        middle = slice(int(0.35 * ink.shape[0]), int(0.65 * ink.shape[0]))
        return (ink[middle, middle] == 0).sum()

    zero = mnist.test_images[np.flatnonzero(mnist.test_labels == 0)[0]]
    thin = 255 - proxies.coarse_scan(zero, np.random.default_rng(0)).astype(np.int16)
    thick = 255 - proxies.coarse_scan(zero, np.random.default_rng(0), grow=grow).astype(np.int16)
    assert paper_inside(thick) < paper_inside(thin)
