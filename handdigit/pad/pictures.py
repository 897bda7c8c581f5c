"""Small pictures for the widget, made straight from arrays with Pillow (no matplotlib figure).

A look-inside panel that redraws on every pen-up must take milliseconds, not the tenth of a
second a matplotlib figure costs: these helpers tile maps, colour them through a lookup table
and encode a PNG, all in NumPy and Pillow.
"""

import io
from functools import cache

import numpy as np


def png_bytes(image):
    """PNG bytes of a (H, W) grey or (H, W, 3) RGB uint8 image."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def enlarge(image, factor):
    """Nearest-neighbour enlargement by an integer factor: pixels stay sharp squares."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


@cache
def colour_table(name):
    """(256, 3) uint8 lookup table of a matplotlib colour map (viridis and cividis suit colour-blind readers)."""
    import matplotlib

    return np.round(255 * matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3]).astype(np.uint8)


def colourize(values, name="viridis"):
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 through a colour map."""
    index = np.round(np.clip(values, 0, 1) * 255).astype(np.intp)
    return colour_table(name)[index]


def normalized(maps):
    """(K, H, W) maps each scaled to [0, 1] on its own (a map that is all zeros stays zero)."""
    maps = np.asarray(maps, np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0)


def mosaic(images, columns, gap=1, background=255):
    """(K, H, W) or (K, H, W, 3) images laid out row by row, `columns` wide, `gap` pixels apart."""
    count, height, width = images.shape[:3]
    rows = -(-count // columns)
    shape = (rows * (height + gap) - gap, columns * (width + gap) - gap, *images.shape[3:])
    grid = np.full(shape, background, images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[top : top + height, left : left + width] = image
    return grid
