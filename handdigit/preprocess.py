"""From whatever a user gives us to what the network was trained on: an MNIST-style 28x28 digit.

MNIST digits are light ink on a black background, the ink scaled (keeping the aspect ratio, with
antialiasing) so that its longest side is 20 pixels, then placed in a 28x28 image so that its
intensity-weighted centre of mass sits at the image's centre (measured on the training set:
row 13.996, column 14.007, pixel centres at integer coordinates). Drawings, photos and scans are
nothing like that, and a network fed a plainly resized canvas answers "7" to almost everything.

`to_mnist(image)` does, in order:
1. ink from luminance and alpha: transparent pixels are composited onto white paper;
2. polarity: dark-on-light or light-on-dark, decided from the image's border (override with
   `polarity="dark-on-light"` or `"light-on-dark"`), so that ink is high and paper is 0;
3. a noise floor: the paper's own level (the border's median) and faint specks are removed, and
   the strongest ink is scaled to 1;
3b. a small picture shown enlarged by repeating its pixels (an 8x8 scan displayed at 280x280, a
   pixel-art digit) is taken back to one value per pixel, so that step 4 enlarges it smoothly as it
   would the small picture itself: its hard block edges are not part of the digit (measured: an
   8x8 scan enlarged that way was read 2 points worse and flagged "not a digit" 4 times as often
   as the same scan given at 8x8);
3c. a pen far finer than MNIST's is thickened: the ink cropped to the digit, a stroke narrower
   than MIN_STROKE of the digit's longer side (twice its ink over its edge's length) is
   drawn again as wide as that, as a round pen would (the ink dilated by a disk; first reduced by
   the largest of each block of pixels when the crop is large, so that the disk stays small).
   MNIST's strokes are about a tenth of the digit; a hairline pen's scaled to 20 pixels
   is a faint line a third of a pixel wide, which the network has rarely seen (measured: MNIST
   test digits redrawn with a 1.5-4 px pen on the 280-pixel canvas were flagged "not a digit"
   five times as often as with a broad pen, 4.0% against 0.8% of 1,500; thickened, 0.8%). Other
   ink is left as it is;
4. crop to the ink's bounding box; scale its longest side to 19 px (Pillow, antialiased), so that
   with the sub-pixel shift of step 5 the digit spans at most 20 px, as MNIST's 20x20 box;
5. place it in 28x28 with its centre of mass exactly at MNIST's (sub-pixel, bilinear: a drawing
   moved by a fraction of a pixel gives almost the same view, which integer shifts would not).
Grey levels are kept throughout (never binarised). A blank or near-blank image gives None.

`rasterize(strokes, size, width)` draws pen strokes as a canvas would show them (dark ink on white
paper, round caps and joins, antialiased), so that the widget and the tests share one path.
"""

import math

import numpy as np

from tinycnn.kernels import Kernel

MNIST_SIZE = 28
DIGIT_BOX = 20
MNIST_CENTRE_OF_MASS = (13.996, 14.007)  # (row, column), the training-set mean
POLARITIES = ("auto", "dark-on-light", "light-on-dark")
NOISE_FLOOR = 0.12  # ink below this fraction of the strongest ink is paper, not stroke
# "No digit": fewer strong-ink pixels (above half the strongest) than 4, or than 1 in 10,000.
MINIMUM_INK_PIXELS = 4
BLANK_FRACTION = 1e-4
# A block-enlarged picture: each pixel repeated over at least MIN_BLOCK x MIN_BLOCK pixels, and its
# ink at least MIN_BLOCKS pixels along its longer side (a lone square blob is left alone).
MIN_BLOCK = 3
MIN_BLOCKS = 4
GRID_SLACK = 0.75  # pixels a change may lie off the fitted grid (half a pixel of rounding, and a little)
# A stroke narrower than this share of the digit's longer side (by stroke_width) is thickened to
# it: the 1st percentile of MNIST's training digits (3,000 of them enlarged 10 times: 0.062; the
# median is 0.116), so that 99% of MNIST-like ink is left as it is.
MIN_STROKE = 0.062
THICKEN_SIDE = 64  # a crop thickened is first reduced (block maximum) to 64-127 pixels along its longer side


def ink_from_image(luminance, alpha=None, polarity="auto"):
    """Ink (H, W) float32 in [0, 1] (1 = strongest ink) from luminance and optional alpha in [0, 1]."""
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    luminance = np.asarray(luminance, np.float32)
    if alpha is not None:
        luminance = alpha * luminance + (1 - alpha)  # composite onto white paper
    border_level = float(np.median(_border(luminance)))
    if polarity == "auto":
        polarity = "dark-on-light" if border_level >= 0.5 else "light-on-dark"
    ink = 1 - luminance if polarity == "dark-on-light" else luminance.copy()
    paper = 1 - border_level if polarity == "dark-on-light" else border_level
    strongest = float(ink.max())
    if strongest - paper <= 1e-6:
        return np.zeros_like(ink)
    # In place: this runs on every live stroke of the widget (a 280x280 canvas per call).
    ink -= paper
    ink /= strongest - paper
    ink *= ink >= NOISE_FLOOR  # below the noise floor: paper, not ink
    return np.clip(ink, 0, 1, out=ink)


def _border(image):
    """The outer ring of pixels (about 4% of each side, at least one pixel)."""
    height, width = image.shape
    thickness = max(1, round(0.04 * min(height, width)))
    return np.concatenate(
        [
            image[:thickness].ravel(),
            image[-thickness:].ravel(),
            image[:, :thickness].ravel(),
            image[:, -thickness:].ravel(),
        ]
    )


def block_grid(ink):
    """Where the pixels of the small picture lie, if `ink` (H, W) is one enlarged by repeating each
    pixel over a square block: (rows, columns), one index into `ink` per small pixel (a block's
    centre), so that `ink[np.ix_(rows, columns)]` is the small picture; None otherwise.

    The block side need not be whole (8 pixels enlarged to 28 repeat 3 or 4 times): every place
    where the image changes, along each axis, must lie on a grid of one block side (the largest
    that fits, tried among the spans between an axis's first and last change divided by a whole
    number of blocks), within a pixel of the grid started at the first change, or within
    GRID_SLACK of the grid fitted to the changes (an enlargement by a factor that is not whole puts
    each change up to half a pixel off its block's true edge, so the span can be a pixel short of
    a whole number of blocks). Antialiased drawings change at neighbouring rows and columns and
    fail at once."""
    changes = []
    for axis in (0, 1):  # rows first: a drawing fails there, and its columns need no look
        changes.append(_changes(ink, axis))
        if np.any(np.diff(changes[-1]) < MIN_BLOCK - 1):
            return None
    if sum(max(0, len(axis_changes) - 1) for axis_changes in changes) < 3:  # a lone bar or block says little
        return None
    spans = [int(c[-1] - c[0]) for c in changes if len(c) > 1]  # each about a whole number of blocks
    sides = {span / cells for span in spans for cells in range(1, span // MIN_BLOCK + 1)}
    for side in sorted(sides, reverse=True):
        grids = [_grid(axis_changes, side) for axis_changes in changes]
        if all(grid is not None for grid in grids):
            rows, columns = (
                _block_centres(origin, fitted, length)
                for (origin, fitted), length in zip(grids, ink.shape, strict=True)
            )
            small = ink[np.ix_(rows, columns)]
            extent = max(np.count_nonzero(small.any(axis=1)), np.count_nonzero(small.any(axis=0)))
            return (rows, columns) if extent >= MIN_BLOCKS else None
    return None


def _changes(image, axis):
    """Indices i along `axis` where slice i differs from slice i - 1."""
    lines = np.moveaxis(image, axis, 0)
    return np.flatnonzero(np.any(lines[1:] != lines[:-1], axis=1)) + 1


def _grid(changes, side):
    """(origin, side) of the grid of about `side` that the changes along one axis lie on, or None:
    the grid started at the first change if every change lies within a pixel (a quarter block) of
    it, else the grid fitted to the changes (least squares over their block numbers) if every
    change lies within GRID_SLACK of that one."""
    if len(changes) == 0:
        return 0.0, side
    offsets = changes - changes[0]
    blocks = np.round(offsets / side)
    if np.all(np.abs(offsets - blocks * side) <= min(1.0, side / 4)):
        return float(changes[0]), side
    spread = blocks - blocks.mean()
    if not np.any(spread):
        return None
    fitted = float(spread @ (changes - changes.mean()) / (spread @ spread))
    origin = float(changes.mean() - fitted * blocks.mean())
    if fitted < MIN_BLOCK - 1 or np.any(np.abs(changes - (origin + fitted * blocks)) > GRID_SLACK):
        return None
    return origin, fitted


def _block_centres(origin, side, length):
    """The middle pixel of each block of a grid of `side` started at `origin`, over 0..length; a
    sliver of a block at an edge (a pixel or less, the grid's rounding) is none."""
    starts = origin + side * np.arange(-math.ceil(origin / side), math.ceil((length - origin) / side))
    low, high = np.maximum(starts, 0), np.minimum(starts + side, length)
    keep = high - low > min(1.0, side / 4)
    return np.clip(np.floor((low[keep] + high[keep]) / 2).astype(int), 0, length - 1)


def stroke_width(ink):
    """The ink's stroke width in pixels, estimated as twice its ink over the length of its edge: a
    stroke of width w and length L holds w L of ink and has an edge of 2 L. The edge's length is
    Crofton's formula on four directions of the pixel grid: pi / 8 x (the steps between
    4-neighbours one of which is strong ink, above half, and the other not, plus those between
    diagonal neighbours over sqrt 2); the image's outside is not ink. Straight strokes of any
    direction measure their pen within 5% and a third of a pixel; grey ink counts as it is, so a
    faint hairline measures about its width (under 2 px a little more: ink_from_image scales its
    strongest ink up to full). 0 without strong ink."""
    strong = np.zeros((ink.shape[0] + 2, ink.shape[1] + 2), bool)  # a margin of paper all round
    np.greater(ink, 0.5, out=strong[1:-1, 1:-1])
    steps = np.count_nonzero(strong[1:] ^ strong[:-1]) + np.count_nonzero(strong[:, 1:] ^ strong[:, :-1])
    diagonal = np.count_nonzero(strong[1:, 1:] ^ strong[:-1, :-1]) + np.count_nonzero(
        strong[1:, :-1] ^ strong[:-1, 1:]
    )
    edge = math.pi / 8 * (steps + diagonal / math.sqrt(2))
    return 2 * float(ink.sum(dtype=np.float64)) / edge if edge else 0.0


def thickened(ink):
    """Ink (H, W) cropped to a digit, its strokes at least MIN_STROKE of its longer side wide: a
    finer pen's ink dilated by a disk (each pixel the strongest ink within the disk's radius, its
    edge fading over a pixel), then cropped to its ink again. A crop larger than 2 * THICKEN_SIDE
    pixels is first reduced to the largest value of each S x S block (S = its longer side //
    THICKEN_SIDE), so that the disk stays small. Ink at least that wide is returned as it is."""
    size = max(ink.shape)
    target = MIN_STROKE * size
    if stroke_width(ink) >= target:
        return ink
    step = max(1, size // THICKEN_SIDE)
    if step > 1:
        height, width = -(-ink.shape[0] // step), -(-ink.shape[1] // step)
        padded = np.zeros((height * step, width * step), np.float32)
        padded[: ink.shape[0], : ink.shape[1]] = ink
        ink = padded.reshape(height, step, width, step).max(axis=(1, 3))
    radius = (target / step - stroke_width(ink)) / 2
    if radius <= 0:
        return ink
    reach = math.ceil(radius) + 1
    height, width = ink.shape
    out = np.zeros((height + 2 * reach, width + 2 * reach), np.float32)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            # The ink moved by (dy, dx), the strongest kept; the pen's edge fades over a pixel, as
            # rasterize draws it, so that a radius under a pixel still widens the stroke a little.
            weight = np.float32(min(1.0, radius + 1 - math.sqrt(dx * dx + dy * dy)))
            if weight > 0:
                moved = out[reach + dy : reach + dy + height, reach + dx : reach + dx + width]
                np.maximum(moved, ink if weight >= 1 else ink * weight, out=moved)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    return out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def centre_of_mass(image):
    """(row, column) of the intensity-weighted centre of mass of a 2-D image."""
    total = image.sum()
    rows = np.arange(image.shape[0], dtype=np.float64)
    cols = np.arange(image.shape[1], dtype=np.float64)
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def _scale_to_box(ink):
    """Scale cropped ink so its longest side is DIGIT_BOX - 1 pixels, keeping the aspect ratio."""
    from PIL import Image

    height, width = ink.shape
    factor = (DIGIT_BOX - 1) / max(height, width)
    new_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resample = Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BILINEAR
    # reducing_gap: Pillow first box-reduces by a whole factor while the result stays at least 3x
    # the target size, then resamples: several times faster on a canvas-sized crop, and Pillow's
    # documentation calls the result at 3.0 indistinguishable from fair resampling (measured here:
    # the same accuracy on 3,000 redrawn MNIST digits).
    image = Image.fromarray(ink, mode="F")
    scaled = np.asarray(image.resize(new_size, resample, reducing_gap=3.0), np.float32)
    return np.clip(scaled, 0, 1)


def _shift(image, drow, dcol):
    """image (H, W) moved by a sub-pixel offset: bilinear, done as a linear shift along each axis
    (bilinear interpolation is separable); zeros enter at the edges."""
    return _shift_axis(_shift_axis(image, drow, 0), dcol, 1)


def _shift_axis(image, offset, axis):
    """out[i] = (1 - f) * image[i - k] + f * image[i - k - 1] along `axis`, offset = k + f."""
    whole = math.floor(offset)
    fraction = np.float32(offset - whole)
    return (1 - fraction) * _translate(image, whole, axis) + fraction * _translate(image, whole + 1, axis)


def _translate(image, shift, axis):
    """image moved by a whole number of pixels along `axis`; zeros fill the vacated edge."""
    out = np.zeros_like(image)
    size = image.shape[axis]
    if abs(shift) < size:
        source, target = [slice(None)] * 2, [slice(None)] * 2
        source[axis] = slice(max(0, -shift), size - max(0, shift))
        target[axis] = slice(max(0, shift), size - max(0, -shift))
        out[tuple(target)] = image[tuple(source)]
    return out


def to_mnist(luminance, alpha=None, polarity="auto"):
    """The MNIST-style (28, 28) float32 view of an image in [0, 1] (ink = 1), or None if blank.

    luminance: (H, W) in [0, 1] (0 = black); alpha: optional (H, W) opacity in [0, 1].
    """
    ink = ink_from_image(luminance, alpha, polarity)
    if np.count_nonzero(ink > 0.5) < max(MINIMUM_INK_PIXELS, BLANK_FRACTION * ink.size):
        return None
    grid = block_grid(ink)
    if grid is not None:
        ink = ink[np.ix_(*grid)]
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    cropped = thickened(np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]))
    digit = _scale_to_box(np.ascontiguousarray(cropped))
    if digit.sum() <= 0:
        return None
    canvas = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    top = (MNIST_SIZE - digit.shape[0]) // 2
    left = (MNIST_SIZE - digit.shape[1]) // 2
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    row, col = centre_of_mass(canvas)
    shifted = _shift(canvas, MNIST_CENTRE_OF_MASS[0] - row, MNIST_CENTRE_OF_MASS[1] - col)
    return np.clip(shifted, 0, 1)


def rasterize(strokes, size=280, width=18.0):
    """Pen strokes as a canvas shows them: a (size, size) uint8 image, dark ink (0) on white (255).

    strokes: a list of strokes, each a list of (x, y) points in canvas pixels (x to the right, y
    down, pixel centres at +0.5 as on an HTML canvas). Segments are drawn with round caps and joins
    of diameter `width`, antialiased over one pixel. `size` may be an int or (height, width).
    """
    height, canvas_width = (size, size) if np.isscalar(size) else size
    if not width > 0:
        raise ValueError(f"rasterize: width must be > 0, got {width!r}")
    coverage = np.zeros((height, canvas_width), np.float32)
    for stroke in strokes:
        draw_stroke(coverage, stroke, width)
    return coverage_to_image(coverage)


def coverage_to_image(coverage):
    """Ink coverage (H, W) in [0, 1] -> the uint8 image a canvas shows (0 = ink, 255 = paper)."""
    return np.round(255 * (1 - coverage)).astype(np.uint8)


def draw_stroke(coverage, stroke, width):
    """Add one stroke (a list of (x, y) points) of pen diameter `width` to `coverage` (H, W), in place.

    Drawing a stroke piece by piece as its points arrive gives exactly the same coverage as
    drawing it whole: each segment is composited on its own, by maximum.
    """
    points = np.asarray(stroke, np.float64).reshape(-1, 2)
    if len(points) == 0:
        return
    if len(points) == 1:
        points = np.vstack([points, points])
    draw_segments(coverage, np.concatenate([points[:-1], points[1:]], axis=1), width)


def draw_segments(coverage, segments, width):
    """Add round-capped segments (S, 4) of (x0, y0, x1, y1), pen diameter `width`, to `coverage`
    (H, W) float32, in place, each composited by maximum (a compiled kernel: the drawing app draws
    a segment per pen move, and training draws thousands of digits)."""
    segments = np.ascontiguousarray(segments, np.float64).reshape(-1, 4)
    if len(segments):
        draw_segments_into(coverage, segments, np.float64(width) / 2)


def draw_segments_loops(coverage, segments, radius):
    """Max-composite each segment's antialiased coverage (1 inside the pen, falling to 0 over one
    pixel at its edge) into `coverage`; pixel centres at +0.5. Segments in order: they overlap."""
    height, width = coverage.shape
    for s in range(segments.shape[0]):
        start_x, start_y, end_x, end_y = segments[s, 0], segments[s, 1], segments[s, 2], segments[s, 3]
        x0 = max(int(math.floor(min(start_x, end_x) - radius - 1)), 0)
        y0 = max(int(math.floor(min(start_y, end_y) - radius - 1)), 0)
        x1 = min(int(math.ceil(max(start_x, end_x) + radius + 1)), width)
        y1 = min(int(math.ceil(max(start_y, end_y) + radius + 1)), height)
        direction_x, direction_y = end_x - start_x, end_y - start_y
        length_squared = direction_x * direction_x + direction_y * direction_y
        for row in range(y0, y1):
            pixel_y = row + 0.5
            for column in range(x0, x1):
                if coverage[row, column] >= 1.0:  # fully inked by an earlier segment: nothing to add
                    continue
                pixel_x = column + 0.5
                t = 0.0
                if length_squared > 0:
                    t = (
                        (pixel_x - start_x) * direction_x + (pixel_y - start_y) * direction_y
                    ) / length_squared
                    t = min(max(t, 0.0), 1.0)
                distance = math.hypot(
                    pixel_x - (start_x + t * direction_x), pixel_y - (start_y + t * direction_y)
                )
                value = np.float32(min(max(radius + 0.5 - distance, 0.0), 1.0))
                if value > coverage[row, column]:
                    coverage[row, column] = value


def draw_segments_numpy(coverage, segments, radius):
    """The NumPy twin of draw_segments_loops: one segment at a time, its box of pixels at once."""
    height, width = coverage.shape
    for start_x, start_y, end_x, end_y in segments:
        start, end = np.array([start_x, start_y]), np.array([end_x, end_y])
        low = np.floor(np.minimum(start, end) - radius - 1).astype(int)
        high = np.ceil(np.maximum(start, end) + radius + 1).astype(int)
        x0, y0 = max(low[0], 0), max(low[1], 0)
        x1, y1 = min(high[0], width), min(high[1], height)
        if x0 >= x1 or y0 >= y1:
            continue
        xs = np.arange(x0, x1, dtype=np.float64) + 0.5
        ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
        direction = end - start
        length_squared = float(direction @ direction)
        if length_squared == 0:
            t = 0.0
        else:
            t = np.clip(
                ((xs - start[0]) * direction[0] + (ys - start[1]) * direction[1]) / length_squared, 0, 1
            )
        distance = np.hypot(xs - (start[0] + t * direction[0]), ys - (start[1] + t * direction[1]))
        segment = np.clip(radius + 0.5 - distance, 0, 1).astype(np.float32)
        np.maximum(coverage[y0:y1, x0:x1], segment, out=coverage[y0:y1, x0:x1])


def draw_segments_example():
    """Tiny arguments (warm-up): one segment on a 4x4 canvas."""
    return np.zeros((4, 4), np.float32), np.array([[0.5, 0.5, 3.0, 2.0]]), 1.0


draw_segments_into = Kernel(
    draw_segments_loops, draw_segments_numpy, draw_segments_example, work="coverage", threads=False
)
