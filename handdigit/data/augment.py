"""Data augmentation: random distortions that make the network robust to how people really draw.

Each training image gets, independently:
- a random affine warp about the image centre: rotation, shear, scale per axis, and shift;
- a random elastic distortion (Simard et al. 2003): a smooth random displacement field, which
  bends strokes the way different hands do;
- a random change of stroke width: a grey-level dilation (thicker) or a half erosion (thinner), as
  canvas brushes and pens are rarely MNIST's width.
All of it is vectorised NumPy over the whole batch (bilinear sampling with one gather), a few
milliseconds per batch of 128: well under a tenth of a training step.

Images are (N, 28, 28) float32 in [0, 1], ink = 1.
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random distortions (recorded in each run's output)."""

    rotation_degrees: float = 10.0
    shear: float = 0.15
    scale_min: float = 0.85
    scale_max: float = 1.1
    shift_pixels: float = 2.0
    elastic_probability: float = 0.35
    elastic_alpha: float = 2.0
    elastic_sigma: float = 4.0
    stroke_probability: float = 0.3

    def to_dict(self):
        return asdict(self)


def gaussian_blur_matrix(size, sigma):
    """(size, size) matrix B such that B @ f blurs f along its first axis (zeros outside)."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum(axis=1, keepdims=True)


def bilinear_sample(images, source_rows, source_cols):
    """images (N, H, W) sampled at real coordinates (N, H, W) each; zero outside the image."""
    n_images, height, width = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    # +1: into the padded frame, whose outer ring is zero; clipping far-away points onto it keeps them 0.
    rows = np.clip(source_rows + 1, 0, height + 1)
    cols = np.clip(source_cols + 1, 0, width + 1)
    top, left = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    down, right = rows - top, cols - left
    bottom, rightmost = np.minimum(top + 1, height + 1), np.minimum(left + 1, width + 1)
    flat = padded.reshape(n_images, -1)
    stride = width + 2

    def gather(r, c):
        return np.take_along_axis(flat, (r * stride + c).reshape(n_images, -1), axis=1).reshape(r.shape)

    return (
        gather(top, left) * (1 - down) * (1 - right)
        + gather(top, rightmost) * (1 - down) * right
        + gather(bottom, left) * down * (1 - right)
        + gather(bottom, rightmost) * down * right
    ).astype(images.dtype)


def random_affine_coordinates(n_images, size, rng, config):
    """Source coordinates (N, size, size) of random affine maps about the image centre."""
    angle = np.deg2rad(rng.uniform(-config.rotation_degrees, config.rotation_degrees, n_images))
    shear = rng.uniform(-config.shear, config.shear, n_images)
    scale_y = rng.uniform(config.scale_min, config.scale_max, n_images)
    scale_x = rng.uniform(config.scale_min, config.scale_max, n_images)
    shift = rng.uniform(-config.shift_pixels, config.shift_pixels, (n_images, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    # forward map: output = R @ Shear @ Scale @ (input - centre) + centre + shift; we need its inverse.
    forward = np.empty((n_images, 2, 2))
    forward[:, 0, 0] = cos * scale_y
    forward[:, 0, 1] = (cos * shear - sin) * scale_x
    forward[:, 1, 0] = sin * scale_y
    forward[:, 1, 1] = (sin * shear + cos) * scale_x
    inverse = np.linalg.inv(forward)
    centre = (size - 1) / 2
    grid = np.arange(size, dtype=np.float32) - centre
    relative_r = grid[None, :, None] - shift[:, 0, None, None].astype(np.float32)  # (N, size, 1)
    relative_c = grid[None, None, :] - shift[:, 1, None, None].astype(np.float32)  # (N, 1, size)
    inverse = inverse.astype(np.float32)[:, :, :, None, None]
    rows = inverse[:, 0, 0] * relative_r + inverse[:, 0, 1] * relative_c + centre
    cols = inverse[:, 1, 0] * relative_r + inverse[:, 1, 1] * relative_c + centre
    return rows, cols


def change_stroke_width(images, rng, probability):
    """Grey dilation (max over a 3x3 cross) or half erosion for a random fraction of the images."""
    chosen = rng.random(len(images)) < probability
    if not chosen.any():
        return images
    thicker = rng.random(len(images)) < 0.5
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    neighbours = np.stack(
        [
            padded[:, 1:-1, 1:-1],
            padded[:, :-2, 1:-1],
            padded[:, 2:, 1:-1],
            padded[:, 1:-1, :-2],
            padded[:, 1:-1, 2:],
        ]
    )
    # Half-strength erosion: a full one would erase strokes that are one pixel wide.
    dilated, eroded = neighbours.max(axis=0), 0.5 * (images + neighbours.min(axis=0))
    result = images.copy()
    result[chosen & thicker] = dilated[chosen & thicker]
    result[chosen & ~thicker] = eroded[chosen & ~thicker]
    return result


def augment_batch(images, rng, config=AugmentConfig()):
    """A randomly distorted copy of `images` (N, 28, 28) float32 in [0, 1]."""
    n_images, size, _ = images.shape
    rows, cols = random_affine_coordinates(n_images, size, rng, config)
    elastic = rng.random(n_images) < config.elastic_probability
    if elastic.any():
        blur = gaussian_blur_matrix(size, config.elastic_sigma).astype(np.float32)
        noise = rng.uniform(-1, 1, (2, n_images, size, size)).astype(np.float32)
        displacement = blur @ noise @ blur.T  # a smooth random field: blurred along both axes
        peak = np.abs(displacement).max(axis=(2, 3), keepdims=True) + 1e-12
        displacement = displacement / peak * config.elastic_alpha * elastic[None, :, None, None]
        rows, cols = rows + displacement[0], cols + displacement[1]
    warped = bilinear_sample(images, rows, cols)
    return np.clip(change_stroke_width(warped, rng, config.stroke_probability), 0.0, 1.0)
