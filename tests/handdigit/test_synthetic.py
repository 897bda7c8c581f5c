"""Synthetic drawings for training and evaluation: styles, thinning, real digits redrawn as strokes."""

import numpy as np
import pytest

from handdigit.data.synthetic import STYLES, draw_strokes, drawn_views, restroke, style_names, thin
from handdigit.preprocess import rasterize


def test_thinning_leaves_a_one_pixel_skeleton_along_the_middle():
    bar = np.zeros((20, 40), np.uint8)
    bar[8:13, 5:35] = 1  # 5 pixels thick
    skeleton = thin(bar)
    rows, cols = np.nonzero(skeleton)
    assert set(rows.tolist()) == {10}  # the middle row only
    assert cols.min() <= 8 and cols.max() >= 31  # most of its length survives
    ring = np.zeros((30, 30), np.uint8)
    yy, xx = np.mgrid[:30, :30]
    radius = np.hypot(yy - 14.5, xx - 14.5)
    ring[(radius > 8) & (radius < 12)] = 1
    skeleton = thin(ring)
    assert skeleton.sum() > 40  # still a closed loop, not erased
    assert np.all(np.abs(radius[skeleton == 1] - 10) < 1.6)


@pytest.mark.parametrize("width", [6.0, 14.0, 30.0])
def test_restroke_draws_the_skeleton_with_a_pen_of_the_given_width(width):
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # a thick vertical "1"
    image = restroke(digit, width, canvas=280)
    assert image.shape == (280, 280) and image.dtype == np.uint8
    assert image[0, 0] == 255 and image.min() == 0  # dark ink on white paper
    across = np.count_nonzero(image[140] < 128)  # ink pixels across the middle of the stroke
    assert abs(across - width) <= 2


def test_drawn_views_are_balanced_mnist_style_and_mix_in_real_writers(mnist):
    writers = (mnist.test_images[:200], mnist.test_labels[:200].astype(np.intp))
    views, labels = drawn_views(60, np.random.default_rng(3), writers=writers)
    assert views.shape == (60, 28, 28) and views.dtype == np.float32
    assert np.bincount(labels, minlength=10).tolist() == [6] * 10
    assert all(view.max() > 0.5 for view in views)
    again, _ = drawn_views(60, np.random.default_rng(3), writers=writers)
    assert np.array_equal(views, again)  # reproducible from the generator alone


def test_every_style_draws_inside_the_canvas():
    rng = np.random.default_rng(0)
    assert len(style_names()) == sum(len(styles) for styles in STYLES.values())
    for digit, style in style_names():
        strokes = draw_strokes(digit, style, rng, canvas=280)
        points = np.concatenate([np.asarray(stroke) for stroke in strokes])
        assert points.min() >= 0 and points.max() <= 280
        assert rasterize(strokes, 280, 12).min() == 0
