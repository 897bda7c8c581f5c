"""The drawn training data (handdigit.data.drawings, nondigits, synthetic): every kind draws, the
set is the same in one process or several, in any order, in the background or not, and the
renditions do what they say."""

import collections

import numpy as np
import pytest

from handdigit.data import drawings, nondigits, synthetic
from handdigit.data.drawings import (
    DIGIT_SHARES,
    NONDIGIT_SHARES,
    NOT_A_DIGIT,
    RENDITIONS,
    draw,
    drawn_views,
    plan_drawings,
    start_drawing,
)
from handdigit.preprocess import rasterize, to_mnist


@pytest.mark.parametrize(("group", "kind"), nondigits.kind_names())
def test_every_non_digit_kind_draws_visible_ink(group, kind):
    rng = np.random.default_rng(0)
    for _ in range(3):
        strokes = synthetic.place_strokes(nondigits.nondigit_strokes(group, kind, rng), rng, 140)
        view = to_mnist(rasterize(strokes, 140, 6).astype(np.float32) / 255)
        assert view is not None and view.max() > 0.2  # (scattered dots blur when scaled down)


def test_no_kind_is_one_a_reader_could_take_for_a_digit():
    kinds = {kind for _, kind in nondigits.kind_names()}
    assert not kinds & {"O", "I", "l", "S", "Z", "G", "b", "q", "g", "o", "circle", "bar"}


@pytest.mark.parametrize("rendition", RENDITIONS)
@pytest.mark.parametrize("label", [1, 7, NOT_A_DIGIT])
def test_every_rendition_draws_a_usable_view(label, rendition, mnist):
    rng = np.random.default_rng(3)
    writer = mnist.train_images[np.flatnonzero(mnist.train_labels == (label % 10))[0]]
    image = draw(label, rendition, rng, 84, writer)
    assert image.shape == (84, 84) and image.dtype == np.uint8
    assert to_mnist(image.astype(np.float32) / 255) is not None


def test_a_set_is_the_same_in_one_process_or_two(mnist):
    writers = (mnist.train_images[:2000], mnist.train_labels[:2000])
    one = drawn_views(300, [7, 1], writers=writers, nondigits=120, processes=1)
    two = drawn_views(300, [7, 1], writers=writers, nondigits=120, processes=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    views, labels, renditions = one
    assert views.shape == (420, 28, 28) and views.dtype == np.float32
    assert views.min() >= 0 and views.max() <= 1 and np.all(views.reshape(420, -1).max(axis=1) > 0.2)
    assert (labels == NOT_A_DIGIT).sum() == 120
    assert np.bincount(labels[labels < NOT_A_DIGIT], minlength=10).tolist() == [30] * 10
    assert set(renditions) <= set(RENDITIONS)
    other = drawn_views(300, [7, 2], writers=writers, nondigits=120, processes=1)[0]
    assert not np.array_equal(other, views)


def test_drawings_wanted_in_any_order_in_the_background_are_the_same_set(mnist):
    writers = (mnist.train_images[:2000], mnist.train_labels[:2000])
    expected, expected_labels, _ = drawn_views(500, [7, 1], writers=writers, nondigits=100, processes=1)
    order = np.random.default_rng(0).permutation(600)
    out = np.full((600, 28, 28), -1.0, np.float32)
    drawing = start_drawing(500, [7, 1], writers, 100, processes=2, order=order, out=out)
    np.testing.assert_array_equal(drawing.labels, expected_labels)  # known before any is drawn
    first = order[:40]
    drawing.wait_for(first)
    np.testing.assert_array_equal(out[first], expected[first])
    views, _, _ = drawing.finished()
    assert views is out and drawing.done == 600
    np.testing.assert_array_equal(out, expected)


def test_drawing_refuses_an_order_or_an_array_that_does_not_fit():
    with pytest.raises(ValueError, match="each of the 20 drawings once"):
        start_drawing(20, 0, order=np.arange(19))
    with pytest.raises(ValueError, match="each of the 20 drawings once"):
        start_drawing(20, 0, order=np.r_[np.arange(19), 0])
    with pytest.raises(ValueError, match=r"out must have shape \(20, 28, 28\)"):
        start_drawing(20, 0, out=np.zeros((20, 28, 29), np.float32))


def test_a_drawing_closed_early_stops_its_processes():
    drawing = start_drawing(6000, 0, processes=2)
    waiting = start_drawing(10, 1, after=drawing)  # waits for the first, which never finishes
    drawing.close()
    assert drawing.done < 6000 and not drawing._thread.is_alive()
    with pytest.raises(RuntimeError, match="stopped"):
        drawing.finished()
    with pytest.raises(RuntimeError, match="drawing the synthetic data failed: drawing was stopped"):
        waiting.finished()
    waiting.close()


def test_a_failure_while_drawing_is_raised_by_the_next_wait(monkeypatch):
    def broken(tasks, processes):
        yield tasks[0][1], np.zeros((len(tasks[0][1]), 28, 28), np.float32)
        raise RuntimeError("a drawing process ended early (exit code -9)")

    monkeypatch.setattr(drawings, "_run", broken)
    drawing = start_drawing(600, 0, processes=2)
    with pytest.raises(
        RuntimeError, match="drawing the synthetic data failed: a drawing process ended early"
    ):
        drawing.wait_for(np.arange(600))


def test_the_plan_shares_renditions_as_stated_and_writers_match_labels(mnist):
    labels, renditions, writers = plan_drawings(20_000, 5_000, 0, mnist.train_labels)
    digits = labels < NOT_A_DIGIT
    for rendition in RENDITIONS:
        assert np.mean(renditions[digits] == rendition) == pytest.approx(DIGIT_SHARES[rendition], abs=0.02)
        stated = NONDIGIT_SHARES.get(rendition, 0.0)  # no writer draws a non-digit
        assert np.mean(renditions[~digits] == rendition) == pytest.approx(stated, abs=0.02)
    has = writers >= 0
    np.testing.assert_array_equal(mnist.train_labels[writers[has]], labels[has])
    assert set(renditions[has]) <= {"writer", "low-res"}


def test_a_ruler_draws_exact_lines_and_a_hand_does_not():
    square = [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]]
    for ruler in (True, False):
        (stroke,) = synthetic.place_strokes(square, np.random.default_rng(4), 280, ruler=ruler)
        side = np.asarray(stroke)[: len(stroke) // 4]  # the first side, resampled finely
        direction = (side[-1] - side[0]) / np.linalg.norm(side[-1] - side[0])
        relative = side - side[0]
        off_the_line = np.abs(relative[:, 0] * direction[1] - relative[:, 1] * direction[0])
        assert (off_the_line.max() < 1e-6) == ruler, off_the_line.max()
        assert np.allclose(stroke[0], stroke[-1]) == ruler  # a hand does not close it exactly


def test_numbers_of_several_digits_are_written_on_one_line_with_the_gaps_asked_for():
    box = [[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0), (0.0, 0.0)]]
    for gap in (0.3, -0.1):  # apart, and overlapping (touching digits)
        strokes = nondigits._side_by_side([box, box, box], np.random.default_rng(1), (gap, gap))
        spans = [(min(x for x, _ in s), max(x for x, _ in s)) for s in strokes]
        assert len(spans) == 3 and all(
            np.isclose(b[0] - a[1], gap) for a, b in zip(spans, spans[1:], strict=False)
        )
        bottoms = [max(y for _, y in s) for s in strokes]
        assert max(bottoms) - min(bottoms) < 0.2  # on one line, give or take
    rng = np.random.default_rng(2)
    for kind in nondigits.NUMBERS:
        assert len(nondigits.nondigit_strokes("number", kind, rng)) >= 2


def test_kinds_are_drawn_as_often_as_their_weights_say():
    """The L (weight 8) is drawn eight times as often as a kind of weight 1, the C three times, the
    others alike."""
    rng = np.random.default_rng(0)
    names = nondigits.kind_names()
    draws = 40_000
    counts = collections.Counter(nondigits.random_kind(rng) for _ in range(draws))
    total_weight = sum(nondigits.WEIGHTS.get(kind, 1) for _, kind in names)
    for name in names:
        expected = draws * nondigits.WEIGHTS.get(name[1], 1) / total_weight
        assert abs(counts[name] - expected) < 5 * expected**0.5, (name, counts[name], expected)
    assert nondigits.WEIGHTS["L"] > 1 and nondigits.WEIGHTS["C"] > 1


def test_the_l_comes_in_every_width_of_base():
    """Its base runs from 0.3 to 0.9 of its height, half of them under 0.45 (the short ones are those
    read as 1 or 6)."""
    rng = np.random.default_rng(1)
    bases = []
    for _ in range(300):
        (stroke,) = nondigits.nondigit_strokes("letter", "L", rng)
        (top_x, top_y), (corner_x, corner_y), (end_x, end_y) = stroke
        assert top_y < corner_y and abs(end_y - corner_y) < 0.05 and abs(top_x - corner_x) < 0.1
        bases.append((end_x - corner_x) / (corner_y - top_y))
    assert 0.3 <= min(bases) < 0.33 and 0.87 < max(bases) <= 0.9
    assert 0.4 < np.mean(np.array(bases) < 0.45) < 0.6  # the short ones drawn most


def test_the_c_opens_on_the_right_never_so_little_that_it_reads_as_a_0():
    """Its two ends lie right of its middle, apart by 0.45 to 0.95 of its height (an opening of 60
    to 140 degrees), the whole range drawn; a C open less than that is a 0 with a gap."""
    rng = np.random.default_rng(2)
    openings = []
    for _ in range(300):
        (stroke,) = nondigits.nondigit_strokes("letter", "C", rng)
        points = np.asarray(stroke)
        (low_x, low_y), (high_x, high_y) = points.min(axis=0), points.max(axis=0)
        ends = points[[0, -1]]
        assert np.all(ends[:, 0] > (low_x + high_x) / 2)
        openings.append(abs(ends[1, 1] - ends[0, 1]) / (high_y - low_y))
    assert 0.45 <= min(openings) < 0.55 and 0.85 < max(openings) <= 0.95


def test_letters_come_in_varied_proportions():
    """A T's bar, a Y's fork, an E's middle arm: each drawn at many proportions, not one glyph's."""
    rng = np.random.default_rng(3)

    def spread(kind, measure, draws=200):
        values = [
            measure([np.asarray(s) for s in nondigits.nondigit_strokes("letter", kind, rng)])
            for _ in range(draws)
        ]
        return min(values), max(values)

    bar = spread("T", lambda strokes: np.ptp(strokes[0][:, 0]) / np.ptp(strokes[1][:, 1]))
    fork = spread("Y", lambda strokes: strokes[0][1, 1])
    arm = spread("E", lambda strokes: strokes[1][0, 1])
    assert bar[0] < 0.45 and bar[1] > 0.85
    assert fork[0] < 0.33 and fork[1] > 0.57
    assert arm[0] < 0.38 and arm[1] > 0.57
    assert all(len(nondigits.nondigit_strokes("letter", "F", rng)[0]) == 3 for _ in range(20))  # no lower arm


def test_polylines_have_the_points_asked_for_and_keep_the_ends():
    strokes = [[(0, 0), (10, 0), (10, 10)], [(20, 0), (20, 10)]]
    joined = synthetic.as_polyline(strokes, 8)
    assert len(joined) == 1 and len(joined[0]) == 8
    assert joined[0][0] == [0.0, 0.0] and joined[0][-1] == [20.0, 10.0]
    straight = synthetic.as_polyline([[(0, 0), (7, 0)], [(7, 1), (7, 8)]], 15, join_pen_ups=False)
    np.testing.assert_allclose(np.array(straight[0])[:, 0], np.arange(8))  # equal distances along the path
    apart = synthetic.as_polyline(strokes, 8, join_pen_ups=False)
    assert len(apart) == 2 and sum(len(s) for s in apart) == 8


def test_a_writer_lifts_the_pen_at_the_sharpest_corner_and_may_reorder_the_strokes():
    seven = [[(0.0, 0.0), (0.3, 0.0), (0.6, 0.0), (0.4, 0.5), (0.2, 1.0)]]  # bar, then stem
    lifted = synthetic.as_written(seven, np.random.default_rng(0), lift=1.0, reorder=0.0)
    assert lifted == [[[0.0, 0.0], [0.3, 0.0], [0.6, 0.0]], [[0.6, 0.0], [0.4, 0.5], [0.2, 1.0]]]
    arc = [(np.cos(t), np.sin(t)) for t in np.linspace(0, 3, 30)]  # turns a little everywhere: no corner
    assert len(synthetic.as_written([arc], np.random.default_rng(0), lift=1.0, reorder=0.0)) == 1
    seen = set()
    for seed in range(40):
        written = synthetic.as_written(seven, np.random.default_rng(seed), lift=1.0, reorder=1.0)
        ink = sorted(tuple(map(tuple, sorted([stroke[0], stroke[-1]]))) for stroke in written)
        assert ink == [((0.0, 0.0), (0.6, 0.0)), ((0.2, 1.0), (0.6, 0.0))]  # the same lines
        seen.add(tuple(tuple(stroke[0]) for stroke in written))
    assert len(seen) == 7  # two orders, each stroke either way: 8 paths, 2 start both at the corner


def test_other_alphabets_are_drawn_from_fonts_no_proxy_uses():
    from handdigit.data.hershey import unit_glyph
    from handdigit.evaluation import proxies

    proxy_fonts = {*proxies.HERSHEY_DIGIT_FONTS, *proxies.HERSHEY_LETTER_FONTS, *proxies.HERSHEY_SYMBOLS}
    for font, keys in nondigits.ALPHABETS.values():
        assert font not in proxy_fonts
        for key in keys:
            points = np.concatenate([np.asarray(stroke) for stroke in unit_glyph(key, font)])
            assert points[:, 1].min() == 0 and points[:, 1].max() == pytest.approx(1)  # a unit box
            assert len(points) >= 4  # two strokes at least (Γ is two lines)


class Answers:
    """A stand-in generator giving fixed answers: integers() in turn, random() always `chance`."""

    def __init__(self, integers, chance):
        self.integers_left, self.chance = list(integers), chance

    def integers(self, low, high=None):
        return self.integers_left.pop(0)

    def random(self):
        return self.chance

    def uniform(self, low, high):
        return (low + high) / 2


def test_a_coarse_scan_is_its_ink_counted_on_a_grid_then_scaled_back_up():
    image = rasterize([[(20, 20), (60, 70)]], 84, 8)
    coarse = synthetic.low_resolution(image, 6, Answers([16, 0], chance=0.9))  # 16 levels, nearest, no blur
    assert coarse.shape == image.shape and coarse.dtype == np.uint8
    assert len(np.unique(coarse)) <= 17  # at most 16 ink levels and paper
    blocks = coarse.reshape(6, 14, 6, 14)  # the ink's box fills the image: each cell a 14x14 block
    assert np.all(blocks.min(axis=(1, 3)) == blocks.max(axis=(1, 3)))
    smooth = synthetic.low_resolution(image, 6, Answers([16, 1], chance=0.0))  # bilinear, then blurred
    assert len(np.unique(smooth)) > 17 and to_mnist(smooth.astype(np.float32) / 255) is not None


def test_a_coarse_scan_may_thicken_the_ink_but_never_a_broad_stroke(monkeypatch):
    """The same answers with and without thickening (bilinear, no blur): a thin ring gets more ink
    everywhere and a smaller hole; a stroke already broad (a blob if thickened) is left alone."""
    ring = rasterize([synthetic.arc(42, 42, 24, 30, 0, 360)], 84, 4)
    broad = rasterize([[(30, 20), (50, 64)]], 84, 30)

    def scans(image):
        monkeypatch.setattr(synthetic, "THICKENED_SHARE", 1.0)
        thick = synthetic.low_resolution(image, 8, Answers([16, 1], chance=0.5))
        monkeypatch.setattr(synthetic, "THICKENED_SHARE", 0.0)
        thin = synthetic.low_resolution(image, 8, Answers([16, 1], chance=0.5))
        return 255 - thick.astype(np.int16), 255 - thin.astype(np.int16)

    thick, thin = scans(ring)
    assert (thick >= thin - 1).all() and thick.sum() > 1.3 * thin.sum()
    hole = (slice(34, 50), slice(34, 50))
    assert thick[hole].sum() > thin[hole].sum()  # the hole's paper is inked nearer its middle
    thick, thin = scans(broad)
    np.testing.assert_array_equal(thick, thin)
