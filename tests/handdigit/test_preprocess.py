"""Preprocessing: drawings become MNIST-style 28x28 views, whatever their position, size or polarity."""

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from handdigit.data.synthetic import draw_strokes, style_names
from handdigit.preprocess import (
    MIN_STROKE,
    MNIST_CENTRE_OF_MASS,
    block_grid,
    centre_of_mass,
    ink_from_image,
    rasterize,
    stroke_width,
    thickened,
    to_mnist,
)

STYLES = style_names()


def view_of(strokes, width, canvas=280, invert=False):
    image = rasterize(strokes, canvas, width).astype(np.float32) / 255
    return to_mnist(1 - image if invert else image)


def transformed(strokes, scale, dx, dy):
    return [[(x * scale + dx, y * scale + dy) for x, y in stroke] for stroke in strokes]


def close_views(a, b):
    """Two 28x28 views agree: small mean difference and a correlation near 1."""
    return np.abs(a - b).mean() < 0.04 and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.93


@settings(max_examples=30)
@given(
    style=st.sampled_from(STYLES),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.6, 1.4),
    dx=st.floats(-60, 60),
    dy=st.floats(-60, 60),
)
def test_moving_and_scaling_a_drawing_leaves_the_view_almost_unchanged(style, seed, scale, dx, dy):
    """The same strokes drawn elsewhere and larger or smaller (brush scaled alike) look the same to the network."""
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=280, centred=True)
    centre = 140
    moved = transformed(strokes, scale, centre * (1 - scale) + dx, centre * (1 - scale) + dy)
    points = np.concatenate([np.asarray(stroke) for stroke in moved])
    margin = 8 * scale + 2
    assume(points.min() >= margin and points.max() <= 280 - margin)  # the whole drawing stays on the canvas
    assert close_views(view_of(strokes, 16), view_of(moved, 16 * scale))


@settings(max_examples=30)
@given(style=st.sampled_from(STYLES), seed=st.integers(0, 10_000), width=st.floats(4, 30))
def test_the_view_is_mnist_shaped(style, seed, width):
    """The ink fits in 20x20 (19 px plus the sub-pixel centring), centre of mass at MNIST's."""
    rng = np.random.default_rng(seed)
    view = view_of(draw_strokes(*style, rng, canvas=280), width)
    assert view.shape == (28, 28) and view.dtype == np.float32
    assert view.min() >= 0 and view.max() <= 1
    rows, cols = np.flatnonzero((view > 0).any(axis=1)), np.flatnonzero((view > 0).any(axis=0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 20
    row, col = centre_of_mass(view)
    assert row == pytest.approx(MNIST_CENTRE_OF_MASS[0], abs=0.05)
    assert col == pytest.approx(MNIST_CENTRE_OF_MASS[1], abs=0.05)


@settings(max_examples=30)
@given(style=st.sampled_from(STYLES), seed=st.integers(0, 10_000))
def test_inverting_the_polarity_gives_the_same_view(style, seed):
    """White-on-black and black-on-white drawings of the same strokes give the same input."""
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=280)
    np.testing.assert_allclose(view_of(strokes, 14), view_of(strokes, 14, invert=True), atol=1e-5)


def test_grey_levels_are_kept_not_binarised():
    view = view_of([[(100, 50), (180, 230)]], 20)
    levels = np.unique(np.round(view, 3))
    assert len(levels) > 10


def test_forced_polarity_and_alpha():
    """A transparent PNG-like input (ink only in alpha) reads as dark ink on white paper."""
    drawing = rasterize([[(140, 40), (140, 240)]], 280, 16).astype(np.float32) / 255
    alpha = 1 - drawing
    luminance = np.zeros_like(drawing)  # black ink; transparent elsewhere
    from_alpha = to_mnist(luminance, alpha)
    np.testing.assert_allclose(from_alpha, to_mnist(drawing), atol=1e-5)
    wrong = to_mnist(drawing, polarity="light-on-dark")  # the paper is taken for ink
    assert wrong is None or not np.allclose(wrong, to_mnist(drawing), atol=0.1)
    with pytest.raises(ValueError, match="polarity"):
        to_mnist(drawing, polarity="sideways")


@pytest.mark.parametrize(
    "image",
    [
        np.ones((280, 280)),
        np.zeros((28, 28)),
        np.full((50, 50), 0.5),
        rasterize([[(140, 140)]], 280, 1.5).astype(np.float32) / 255,  # one tiny speck
    ],
    ids=["white", "black", "grey", "speck"],
)
def test_blank_or_near_blank_is_no_digit(image):
    assert to_mnist(image) is None


def test_noise_on_paper_is_removed():
    rng = np.random.default_rng(0)
    drawing = rasterize([[(140, 40), (140, 240)]], 280, 16).astype(np.float32) / 255
    noisy = np.clip(drawing * 0.8 + 0.1 + rng.normal(0, 0.02, drawing.shape), 0, 1)
    assert close_views(to_mnist(noisy), to_mnist(drawing))


def test_rasterize_draws_round_caps_and_dots():
    """A single point is a dot of the brush's diameter; a segment has round ends."""
    dot = rasterize([[(50, 50)]], 100, 20) < 128
    rows, cols = np.flatnonzero(dot.any(axis=1)), np.flatnonzero(dot.any(axis=0))
    assert rows[-1] - rows[0] + 1 == pytest.approx(20, abs=1)
    assert cols[-1] - cols[0] + 1 == pytest.approx(20, abs=1)
    assert dot.sum() == pytest.approx(np.pi * 10**2, rel=0.08)
    line = rasterize([[(20, 50), (80, 50)]], 100, 10) < 128
    assert line[50, 15] and not line[50, 13] and not line[45, 15]  # round cap: its corner stays paper
    assert rasterize([], 10, 3).min() == 255
    with pytest.raises(ValueError, match="width"):
        rasterize([[(1, 1)]], 10, 0)


def small_picture(rows, columns, seed):
    """A small scan's ink (rows, columns) float32: paper round it, and inside a block of at least
    4x4 pixels of ink levels that differ from pixel to pixel (the strongest 1), so that no coarser
    grid describes it."""
    rng = np.random.default_rng(seed)
    ink = np.zeros((rows, columns), np.float32)
    height, width = rng.integers(4, rows - 1), rng.integers(4, columns - 1)
    top, left = rng.integers(1, rows - height), rng.integers(1, columns - width)
    ink[top : top + height, left : left + width] = rng.uniform(0.3, 1.0, (height, width))
    ink[top, left] = 1.0
    return ink


def enlarged_by_nearest(picture, width, height):
    """A float picture resized by repeating its pixels, as Pillow's nearest-neighbour resize does."""
    from PIL import Image

    return np.asarray(Image.fromarray(picture, mode="F").resize((width, height), Image.Resampling.NEAREST))


@settings(max_examples=40)
@given(
    rows=st.integers(6, 16),
    columns=st.integers(6, 16),
    block=st.integers(3, 40),
    seed=st.integers(0, 10_000),
)
def test_a_picture_enlarged_by_whole_blocks_is_found_and_taken_back_to_its_pixels(rows, columns, block, seed):
    small = small_picture(rows, columns, seed)
    enlarged = np.kron(small, np.ones((block, block), np.float32))
    grid = block_grid(enlarged)
    assert grid is not None
    np.testing.assert_array_equal(enlarged[np.ix_(*grid)], small)


@settings(max_examples=40)
@given(cells=st.integers(6, 16), block=st.floats(3.0, 40.0), seed=st.integers(0, 10_000))
@example(cells=12, block=3.5, seed=6)  # its first and last change 24 px apart, not 24.5: 7 blocks
def test_a_scan_enlarged_by_any_factor_reads_as_the_scan_itself(cells, block, seed):
    """An 8x8 scan shown at 28x28 or 280x280 (blocks of 3.5 or 35 pixels, repeated 3 or 4 times
    when the factor is not whole) gives the network the same view as the scan given at its size."""
    small = small_picture(cells, cells, seed)
    side = round(cells * block)
    enlarged = enlarged_by_nearest(small, side, side)
    assert block_grid(enlarged) is not None
    np.testing.assert_allclose(to_mnist(1 - enlarged), to_mnist(1 - small), atol=1e-5)


def test_an_enlarged_scan_pasted_on_a_larger_page_reads_as_the_scan():
    """Blocks that start anywhere on the page (the grid is found from the first change, not the edge)."""
    small = small_picture(8, 8, seed=3)
    page = np.zeros((300, 260), np.float32)
    page[17 : 17 + 280, 5 : 5 + 280 - 30] = np.kron(small, np.ones((35, 35), np.float32))[:, :250]
    assert block_grid(page) is not None
    np.testing.assert_allclose(to_mnist(1 - page), to_mnist(1 - small[:, : 250 // 35 + 1]), atol=1e-5)


@settings(max_examples=30)
@given(
    style=st.sampled_from(STYLES),
    seed=st.integers(0, 10_000),
    width=st.floats(1.5, 45),
    canvas=st.sampled_from([28, 64, 280, 400]),
)
def test_drawings_are_never_taken_for_enlarged_pictures(style, seed, width, canvas):
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=canvas, centred=True)
    image = rasterize(strokes, canvas, width * canvas / 280).astype(np.float32) / 255
    assert block_grid(ink_from_image(image)) is None


def test_a_lone_block_or_bar_is_left_as_it_is():
    """Too few blocks to call it a scan: a square blob and a bar of constant ink stay as drawn."""
    square = np.zeros((280, 280), np.float32)
    square[100:170, 100:170] = 1
    bar = np.zeros((280, 280), np.float32)
    bar[40:240, 120:150] = 1
    assert block_grid(square) is None
    assert block_grid(bar) is None


@settings(max_examples=40)
@given(width=st.floats(2, 30), length=st.floats(60, 260), angle=st.floats(0, np.pi))
def test_the_stroke_width_of_a_straight_stroke_is_the_pens(width, length, angle):
    """A straight stroke of a round pen, round caps included (area w L + pi w^2 / 4, edge 2 L + pi
    w), in any direction, from 2 px to a broad pen: its pen's width within 5% and a third of a
    pixel (where the stroke meets the pixel grid). A finer pen's strongest ink can fall short of
    full, and ink_from_image scales it up: it measures wider."""
    assume(length >= 8 * width)
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    image = rasterize([[(140 - dx, 140 - dy), (140 + dx, 140 + dy)]], 280, width).astype(np.float32) / 255
    expected = 2 * (width * length + np.pi * width**2 / 4) / (2 * length + np.pi * width)
    assert abs(stroke_width(ink_from_image(image)) - expected) <= 0.05 * expected + 1 / 3


def cropped_ink(image):
    ink = ink_from_image(image)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


HAIRLINE = {
    "style": st.sampled_from(STYLES),
    "seed": st.integers(0, 10_000),
    "pen": st.floats(1.2, 4),
    "canvas": st.sampled_from([100, 280, 500, 800]),
}


@settings(max_examples=25, deadline=None)
@given(**HAIRLINE)
def test_a_hairline_pens_strokes_are_thickened_to_mnists_thinnest(style, seed, pen, canvas):
    """A digit drawn with a pen finer than MIN_STROKE of its size comes out of `thickened` that
    wide (within 20%, in the crop's own pixels: a large crop is reduced first)."""
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=canvas, centred=True)
    ink = cropped_ink(rasterize(strokes, canvas, pen).astype(np.float32) / 255)
    size = max(ink.shape)
    assume(stroke_width(ink) < MIN_STROKE * size)
    out = thickened(ink)
    scale = size / max(out.shape)  # the reduction, and the pen's reach added around the digit
    assert stroke_width(out) * scale == pytest.approx(MIN_STROKE * size, rel=0.2)
    assert out.any(axis=1)[[0, -1]].all() and out.any(axis=0)[[0, -1]].all()  # cropped to its ink


@settings(max_examples=25, deadline=None)
@given(**HAIRLINE)
def test_a_hairline_pen_gives_the_view_of_a_pen_as_wide_as_mnists_thinnest(style, seed, pen, canvas):
    """The view of a digit drawn with a hairline pen (a faint line a third of a pixel wide once
    scaled to 20, untouched) is about the view of the same strokes drawn with a pen MIN_STROKE of
    the digit's size: as much ink (within 30%) and the same shape (the thickened line is a little
    crisper: a thin oval's outline lies a pixel off in places)."""
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=canvas, centred=True)
    thin = rasterize(strokes, canvas, pen).astype(np.float32) / 255
    size = max(cropped_ink(thin).shape)
    assume(stroke_width(cropped_ink(thin)) < 0.6 * MIN_STROKE * size)
    view = to_mnist(thin)
    reference = to_mnist(rasterize(strokes, canvas, MIN_STROKE * size).astype(np.float32) / 255)
    assert 0.7 <= view.sum() / reference.sum() <= 1.3
    assert np.corrcoef(view.ravel(), reference.ravel())[0, 1] > 0.85


@settings(max_examples=25)
@given(style=st.sampled_from(STYLES), seed=st.integers(0, 10_000), excess=st.floats(1.05, 4))
def test_ink_at_least_as_wide_as_mnists_thinnest_is_left_as_it_is(style, seed, excess):
    """A digit whose strokes measure at least MIN_STROKE of its size is not touched."""
    strokes = draw_strokes(*style, np.random.default_rng(seed), canvas=280, centred=True)
    size = max(cropped_ink(rasterize(strokes, 280, 10).astype(np.float32) / 255).shape)
    ink = cropped_ink(rasterize(strokes, 280, excess * MIN_STROKE * size).astype(np.float32) / 255)
    assume(stroke_width(ink) >= MIN_STROKE * max(ink.shape))
    assert thickened(ink) is ink
