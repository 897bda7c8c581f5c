"""Augmentation: exact where it must be (identity), bounded and reproducible where it is random."""

import numpy as np

from handdigit.data.augment import AugmentConfig, augment_batch, bilinear_sample

IDENTITY = AugmentConfig(0, 0, 1, 1, 0, 0, 0, 4, 0)


def test_bilinear_sampling_at_integer_and_half_coordinates():
    images = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    rows, cols = np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij")
    assert np.array_equal(bilinear_sample(images, rows[None], cols[None]), images)
    half = bilinear_sample(images, np.full((1, 1, 1), 0.5), np.full((1, 1, 1), 0.5))
    assert half[0, 0, 0] == np.mean([0, 1, 4, 5])
    outside = bilinear_sample(images, np.full((1, 1, 1), -5.0), np.full((1, 1, 1), 9.0))
    assert outside[0, 0, 0] == 0.0


def test_identity_config_returns_the_images(mnist):
    images = mnist.train_images[:16].astype(np.float32) / 255
    assert np.allclose(augment_batch(images, np.random.default_rng(0), IDENTITY), images, atol=1e-6)


def test_augmentation_is_reproducible_bounded_and_keeps_the_ink_mostly(mnist):
    images = mnist.train_images[:64].astype(np.float32) / 255
    first = augment_batch(images, np.random.default_rng(1))
    second = augment_batch(images, np.random.default_rng(1))
    assert np.array_equal(first, second)
    assert first.shape == images.shape and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    assert not np.allclose(first, images)
    ink_ratio = first.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert np.all((ink_ratio > 0.3) & (ink_ratio < 3.0))


def test_a_pure_shift_moves_the_centre_of_mass(mnist):
    """Shift-only augmentation moves each digit's centre of mass by at most the shift range (+ rounding)."""
    config = AugmentConfig(0, 0, 1, 1, 2.0, 0, 0, 4, 0)
    images = mnist.train_images[:32].astype(np.float32) / 255
    shifted = augment_batch(images, np.random.default_rng(2), config)
    grid = np.arange(28)

    def centre(batch):
        mass = batch.sum(axis=(1, 2))
        return np.stack(
            [(batch.sum(axis=2) * grid).sum(1) / mass, (batch.sum(axis=1) * grid).sum(1) / mass], 1
        )

    moved = np.abs(centre(shifted) - centre(images))
    assert moved.max() <= 2.0 + 0.5 and moved.mean() > 0.3
