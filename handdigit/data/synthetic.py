"""Synthetic drawn digits: pen strokes of every digit in several styles, as a canvas would show them.

MNIST is scanned pen-on-paper, centred and size-normalised; what people draw in the app are mouse,
finger or stylus strokes of any width, slant, size and position. These synthetic drawings give
the recognizer's tests (and, mixed into training, the network) that kind of input.

Each digit has several styles (a 1 with and without a flag or a base, a 7 with and without a
crossbar, open and closed 4s, one- and two-stroke 5s, two kinds of 8, ...), written as strokes in
a unit box (x right, y down, height 1). A drawing applies a random slant, rotation, proportions,
wobble, brush width, size and position, then `handdigit.preprocess.rasterize` renders it.
"""

import math

import numpy as np

from handdigit.preprocess import coverage_to_image, draw_segments, rasterize
from tinycnn.kernels import Kernel


def arc(cx, cy, rx, ry, start_degrees, end_degrees, points=24):
    """Points along an elliptic arc; angles in degrees, 0 = right, 90 = down (screen coordinates)."""
    angles = np.deg2rad(np.linspace(start_degrees, end_degrees, points))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _figure_eight(top_width=0.25, bottom_width=0.29, points=60):
    result = []
    for t in np.linspace(0, 2 * math.pi, points):
        y = 0.5 - 0.5 * math.cos(t)
        width = top_width if y < 0.5 else bottom_width
        result.append((0.3 + width * math.sin(2 * t), y))
    return result


STYLES = {
    0: {
        "oval": [arc(0.3, 0.5, 0.28, 0.49, -90, 270)],
        "open-oval": [arc(0.3, 0.5, 0.27, 0.48, -80, 265)],
        "round": [arc(0.3, 0.5, 0.36, 0.46, -95, 270)],
    },
    1: {
        "stick": [[(0.3, 0.0), (0.3, 1.0)]],
        "flag": [[(0.1, 0.22), (0.3, 0.0), (0.3, 1.0)]],
        "flag-base": [[(0.1, 0.22), (0.3, 0.0), (0.3, 1.0)], [(0.1, 1.0), (0.5, 1.0)]],
        "short-flag": [[(0.2, 0.1), (0.3, 0.0), (0.3, 1.0)]],
        "long-flag": [[(0.0, 0.32), (0.3, 0.0), (0.3, 1.0)]],
    },
    2: {
        "swan": [arc(0.3, 0.27, 0.27, 0.26, 200, 400) + [(0.02, 1.0), (0.62, 1.0)]],
        "curvy": [
            arc(0.3, 0.26, 0.28, 0.25, 190, 380)
            + arc(0.25, 0.75, 0.3, 0.3, -40, 130, 10)[::-1][:1]
            + [(0.0, 0.98), (0.6, 0.97)]
        ],
        "looped": [
            arc(0.3, 0.26, 0.27, 0.25, 195, 390)
            + [(0.1, 0.85)]
            + arc(0.12, 0.9, 0.1, 0.09, 270, 600, 12)
            + [(0.6, 1.0)]
        ],
        "angular": [[(0.04, 0.12), (0.3, 0.0), (0.56, 0.12), (0.56, 0.32), (0.02, 1.0), (0.62, 1.0)]],
    },
    3: {
        "round": [arc(0.28, 0.25, 0.26, 0.24, 210, 450) + arc(0.28, 0.74, 0.3, 0.26, 270, 510)],
        "flat-top": [[(0.02, 0.0), (0.55, 0.0), (0.22, 0.42)] + arc(0.25, 0.72, 0.32, 0.28, 260, 510)],
    },
    4: {
        "open": [[(0.38, 0.0), (0.0, 0.65), (0.62, 0.65)], [(0.46, 0.3), (0.46, 1.0)]],
        "closed": [[(0.46, 0.0), (0.0, 0.66), (0.62, 0.66)], [(0.46, 0.0), (0.46, 1.0)]],
        "open-top": [[(0.04, 0.0), (0.04, 0.6), (0.62, 0.6)], [(0.48, 0.05), (0.48, 1.0)]],
    },
    5: {
        "one-stroke": [[(0.58, 0.0), (0.08, 0.0), (0.05, 0.45)] + arc(0.28, 0.7, 0.3, 0.28, 235, 505)],
        "two-strokes": [
            [(0.08, 0.0), (0.05, 0.45)] + arc(0.28, 0.7, 0.3, 0.28, 235, 505),
            [(0.08, 0.0), (0.58, 0.02)],
        ],
    },
    6: {
        "loop": [
            [(0.52, 0.0), (0.3, 0.12), (0.12, 0.32), (0.04, 0.58)] + arc(0.3, 0.73, 0.26, 0.26, 180, 540)
        ],
        "straight": [[(0.45, 0.0), (0.05, 0.7)] + arc(0.3, 0.74, 0.25, 0.25, 160, 530)],
        "small-loop": [[(0.5, 0.0), (0.22, 0.25), (0.08, 0.6)] + arc(0.27, 0.83, 0.2, 0.17, 165, 535)],
    },
    7: {
        "plain": [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)]],
        "crossbar": [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)], [(0.12, 0.52), (0.5, 0.5)]],
        "hooked": [[(0.0, 0.14), (0.02, 0.0), (0.6, 0.0), (0.32, 0.5), (0.25, 1.0)]],
        "curved": [[(0.0, 0.03), (0.3, 0.0), (0.6, 0.0), (0.45, 0.3), (0.33, 0.62), (0.28, 1.0)]],
    },
    8: {
        "figure-eight": [_figure_eight()],
        "snowman": [arc(0.3, 0.24, 0.22, 0.24, -90, 270), arc(0.3, 0.74, 0.28, 0.26, -90, 270)],
    },
    9: {
        "straight-stem": [arc(0.3, 0.28, 0.27, 0.27, 0, -360) + [(0.56, 1.0)]],
        "curved-stem": [arc(0.3, 0.27, 0.27, 0.26, 0, -360) + arc(0.22, 0.62, 0.35, 0.38, 0, 90, 8)],
        "closed": [arc(0.32, 0.27, 0.26, 0.26, 10, -350), [(0.58, 0.2), (0.56, 1.0)]],
    },
}


def style_names():
    """[(digit, style)] of every style."""
    return [(digit, style) for digit, styles in STYLES.items() for style in styles]


def _resampled(points, spacing=0.02):
    """The polyline through `points` (K, 2) with extra points every `spacing` along it."""
    pieces = [points[:1]]
    for start, end in zip(points[:-1], points[1:], strict=True):
        steps = max(1, math.ceil(np.hypot(*(end - start)) / spacing))
        pieces.append(start + (end - start) * (np.arange(1, steps + 1)[:, None] / steps))
    return np.concatenate(pieces)


def _smooth_field(rng, amplitude):
    """A random smooth displacement (x, y) -> (dx, dy): two low-frequency waves per axis."""
    frequencies = rng.uniform(1.0, 3.0, (2, 2, 2)) * rng.choice([-1, 1], (2, 2, 2))
    phases = rng.uniform(0, 2 * math.pi, (2, 2))
    amplitudes = rng.uniform(0, amplitude, (2, 2))

    def displacement(points):
        waves = np.sin(2 * math.pi * np.einsum("akc,nc->ank", frequencies, points) + phases[:, None, :])
        return np.einsum("ak,ank->na", amplitudes, waves)

    return displacement


def draw_strokes(digit, style, rng, canvas=280, centred=False):
    """Randomly slanted, rotated, bent, proportioned and placed strokes of one digit style, in
    canvas pixels (see `place_strokes`)."""
    return place_strokes(STYLES[digit][style], rng, canvas, centred)


def place_strokes(
    unit_strokes, rng, canvas=280, centred=False, rotation=12.0, aspect=(0.7, 1.35), height=(0.2, 0.85),
    ruler=False,
):  # fmt: skip
    """Strokes drawn in a unit box (x right, y down, height 1) as a hand would put them on a canvas:
    randomly slanted, rotated (up to `rotation` degrees), proportioned (width scaled by a factor in
    `aspect`), bent, sized (a fraction `height` of the canvas) and placed, in canvas pixels.

    Each stroke is resampled finely, bent by a smooth random field (hands do not draw straight
    lines), jittered, and moved a little on its own (a second stroke rarely lands exactly where
    the first one's geometry says). With `ruler`, none of that: exact lines and curves, as drawn
    with a ruler or a drawing program's shape tools.
    """
    slant = rng.uniform(-0.35, 0.35)
    angle = math.radians(rng.uniform(-rotation, rotation))
    width_scale = rng.uniform(*aspect)
    if not ruler:
        wobble = rng.uniform(0.0, 0.006)
        bend = _smooth_field(rng, rng.uniform(0.0, 0.035))
    transformed = []
    for number, stroke in enumerate(unit_strokes):
        points = _resampled(np.asarray(stroke, np.float64))
        if not ruler:
            points = points + bend(points) + rng.normal(0, wobble, points.shape)
        if number > 0 and not ruler:
            points = points + rng.normal(0, 0.025, 2)
        x = (points[:, 0] - 0.3) * width_scale + slant * (0.5 - points[:, 1])
        y = points[:, 1] - 0.5
        transformed.append(
            np.stack(
                [x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)], 1
            )
        )
    every = np.concatenate(transformed)
    low, high = every.min(axis=0), every.max(axis=0)
    extent = max(high[1] - low[1], 1e-6)
    size_fraction = 0.55 if centred else rng.uniform(*height)
    scale = canvas * size_fraction / extent
    if (high[0] - low[0]) * scale > 0.95 * canvas:  # wide shapes: fit the width instead
        scale = 0.95 * canvas / (high[0] - low[0])
    size = (high - low) * scale
    room = np.maximum(canvas - size, 0)
    origin = room / 2 if centred else rng.uniform(0.05, 0.95, 2) * room
    return [((stroke - low) * scale + origin).tolist() for stroke in transformed]


def as_written(strokes, rng, lift=0.5, reorder=0.5):
    """The strokes as another writer's hand might give the same shape: each stroke split in two at
    its sharpest corner with probability `lift` (the pen lifted there, as many draw a 7's bar and
    its stem, or a 1's flag), then, with probability `reorder`, in a random order and directions.
    Only the pen's path changes, not the ink, until pen-up moves are joined (`as_polyline`)."""
    written = []
    for stroke in strokes:
        stroke = np.asarray(stroke, np.float64)
        corner = _sharpest_corner(stroke)
        if corner is not None and rng.random() < lift:
            written += [stroke[: corner + 1], stroke[corner:]]
        else:
            written.append(stroke)
    if rng.random() < reorder:
        written = [written[i] for i in rng.permutation(len(written))]
        written = [stroke[::-1] if rng.random() < 0.5 else stroke for stroke in written]
    return [stroke.tolist() for stroke in written]


def _sharpest_corner(stroke, least_turn=60.0):
    """The index of the point of `stroke` (K, 2) where its direction turns most, if it turns by at
    least `least_turn` degrees there (meant for a style's unit strokes, before any jitter)."""
    if len(stroke) < 3:
        return None
    steps = np.diff(stroke, axis=0)
    headings = np.arctan2(steps[:, 1], steps[:, 0])
    turns = np.degrees(np.abs(np.angle(np.exp(1j * np.diff(headings)))))
    best = int(np.argmax(turns))
    return best + 1 if turns[best] >= least_turn else None


def as_polyline(strokes, points, join_pen_ups=True):
    """The strokes as a tablet that samples few points would give them: the pen's path (pen-up moves
    from one stroke to the next joined by a straight line, or each stroke on its own) resampled to
    `points` points at equal distances along it, drawn as straight segments. A digit drawn by
    clicking its corners with a mouse looks the same."""
    paths = (
        [np.concatenate([np.asarray(stroke) for stroke in strokes])]
        if join_pen_ups
        else [np.asarray(s) for s in strokes]
    )
    total = sum(_length(path) for path in paths)
    result = []
    for path in paths:
        share = max(2, round(points * _length(path) / total)) if total > 0 else 2
        result.append(_equidistant(path, share).tolist())
    return result


def _length(path):
    return float(np.hypot(*np.diff(path, axis=0).T).sum()) if len(path) > 1 else 0.0


def _equidistant(path, count):
    """`count` points at equal distances along the polyline `path` (K, 2), its ends included."""
    steps = np.hypot(*np.diff(path, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] <= 0:
        return np.repeat(path[:1], count, axis=0)
    targets = np.linspace(0, along[-1], count)
    return np.stack([np.interp(targets, along, path[:, 0]), np.interp(targets, along, path[:, 1])], 1)


THICKENED_SHARE = 0.4  # of low-resolution scans, those whose ink is thickened first


def low_resolution(image, cells, rng):
    """A (H, W) uint8 drawing as a coarse scan gives it: its ink counted over a `cells` x `cells` grid
    (of the ink's square bounding box), then scaled back up to the drawing's size by nearest
    neighbour, bilinear or bicubic resampling, sometimes blurred. Some scans first thicken the ink
    (a broad pen, or a scanner that counts faint ink as ink: at 8x8, a 0's hole nearly closes).
    Dark ink on white, uint8."""
    from PIL import Image, ImageFilter

    ink = 255 - np.asarray(image, np.float32)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 32), np.flatnonzero(ink.max(axis=0) > 32)
    if len(rows) == 0:
        return np.asarray(image, np.uint8)
    side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    covered = float((ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] > 127).sum()) / side**2
    if rng.random() < THICKENED_SHARE and covered < 0.3:  # not a broad stroke already (a blob then)
        grow = 1 + 2 * max(1, round(rng.uniform(0.015, 0.06) * side))  # each side of a stroke grows
        thick = Image.fromarray(ink.astype(np.uint8)).filter(ImageFilter.MaxFilter(grow))
        ink = np.asarray(thick, np.float32)
        rows, cols = np.flatnonzero(ink.max(axis=1) > 32), np.flatnonzero(ink.max(axis=0) > 32)
        side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    top = max(0, (rows[0] + rows[-1] + 1) // 2 - side // 2)
    left = max(0, (cols[0] + cols[-1] + 1) // 2 - side // 2)
    box = np.zeros((side, side), np.float32)
    crop = ink[top : top + side, left : left + side]
    box[: crop.shape[0], : crop.shape[1]] = crop
    counts = Image.fromarray(box, mode="F").resize((cells, cells), Image.Resampling.BOX)
    levels = rng.integers(4, 17)  # ink counts: 0..16 per cell in a scanner that counts pixels
    coarse = np.round(np.asarray(counts) / 255 * levels) / levels * 255
    resample = [Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC][
        rng.integers(3)
    ]
    size = image.shape[0]
    up = Image.fromarray(coarse.astype(np.float32), mode="F").resize((size, size), resample)
    up = Image.fromarray(np.clip(np.asarray(up), 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        up = up.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.5, 2.0)) * size / 100))
    return 255 - np.asarray(up)


def draw_digit(digit, style, rng, canvas=280, width=None, centred=False):
    """A (canvas, canvas) uint8 drawing (dark ink on white) of `digit` in `style`, and its strokes."""
    strokes = draw_strokes(digit, style, rng, canvas, centred)
    brush = width if width is not None else rng.uniform(0.02, 0.11) * canvas
    return rasterize(strokes, canvas, brush), strokes


def drawn_digit_set(per_style=20, seed=0, canvas=280):
    """(images (N, canvas, canvas) uint8, labels (N,), styles [str]) covering every style."""
    rng = np.random.default_rng(seed)
    images, labels, styles = [], [], []
    for digit, style in style_names():
        for _ in range(per_style):
            image, _ = draw_digit(digit, style, rng, canvas)
            images.append(image)
            labels.append(digit)
            styles.append(f"{digit}:{style}")
    return np.stack(images), np.array(labels), styles


def drawn_views(count, rng, canvas=140, progress=None, writers=None):
    """`count` random drawings, class-balanced, preprocessed as the Recognizer would see them.

    Half are the styles above; when `writers` = (images (N, 28, 28) uint8, labels (N,)) is given,
    the other half are those real writers' digits redrawn with canvas strokes (`restroke`) of a
    random pen width, thin to very thick. Returns (views (N, 28, 28) float32 in [0, 1], labels (N,)
    intp). A smaller canvas than the app's renders faster and looks the same after preprocessing
    scales the ink to 20 px. `progress(done)` is called now and then, for a progress bar.
    """
    from handdigit.preprocess import to_mnist

    styles_of = {digit: list(styles) for digit, styles in STYLES.items()}
    labels = np.arange(count) % 10
    rng.shuffle(labels)
    if writers is not None:
        by_digit = {digit: np.flatnonzero(writers[1] == digit) for digit in range(10)}
    views = np.zeros((count, 28, 28), np.float32)
    for index, digit in enumerate(labels):
        view = None
        while view is None:  # a drawing too faint to count as a digit is drawn again
            if writers is not None and index % 2 == 1 and len(by_digit[digit]):
                source = writers[0][rng.choice(by_digit[digit])]
                image = restroke(source, rng.uniform(0.03, 0.2) * canvas, canvas)
            else:
                style = styles_of[digit][rng.integers(len(styles_of[digit]))]
                brush = rng.uniform(0.02, 0.11) * canvas
                image = rasterize(draw_strokes(int(digit), style, rng, canvas), canvas, brush)
            view = to_mnist(image.astype(np.float32) / np.float32(255))
        views[index] = view
        if progress is not None and (index + 1) % 500 == 0:
            progress(index + 1)
    return views, labels.astype(np.intp)


def thin(binary):
    """The one-pixel-wide skeleton of a binary image (Zhang and Suen's thinning, 1984), (H, W) uint8."""
    image = np.pad(np.asarray(binary, np.uint8), 1)
    thin_into(image, np.zeros_like(image))
    return image[1:-1, 1:-1].copy()


def thin_loops(image, remove):
    """Zhang-Suen thinning of `image` (H, W) uint8 0/1 with a zero border, in place; `remove` is
    scratch of the same shape. Each sub-iteration decides every removal on the image as it was
    when the sub-iteration began, then removes them all."""
    height, width = image.shape
    changed = True
    while changed:
        changed = False
        for step in range(2):
            for row in range(1, height - 1):
                for column in range(1, width - 1):
                    remove[row, column] = 0
                    if image[row, column] == 0:
                        continue
                    p2, p3 = image[row - 1, column], image[row - 1, column + 1]
                    p4, p5 = image[row, column + 1], image[row + 1, column + 1]
                    p6, p7 = image[row + 1, column], image[row + 1, column - 1]
                    p8, p9 = image[row, column - 1], image[row - 1, column - 1]
                    neighbours = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
                    if neighbours < 2 or neighbours > 6:
                        continue
                    transitions = (
                        (p2 == 0 and p3 == 1) + (p3 == 0 and p4 == 1) + (p4 == 0 and p5 == 1)
                        + (p5 == 0 and p6 == 1) + (p6 == 0 and p7 == 1) + (p7 == 0 and p8 == 1)
                        + (p8 == 0 and p9 == 1) + (p9 == 0 and p2 == 1)
                    )  # fmt: skip
                    if transitions != 1:
                        continue
                    if step == 0:
                        corner = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
                    else:
                        corner = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
                    if corner:
                        remove[row, column] = 1
            for row in range(1, height - 1):
                for column in range(1, width - 1):
                    if remove[row, column]:
                        image[row, column] = 0
                        changed = True


def thin_numpy(image, remove):
    """The NumPy twin of thin_loops: each sub-iteration's tests on whole shifted images."""
    while True:
        changed = False
        for step in (0, 1):
            inner = image[1:-1, 1:-1]
            p2, p3, p4 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:]
            p5, p6, p7 = image[2:, 2:], image[2:, 1:-1], image[2:, :-2]
            p8, p9 = image[1:-1, :-2], image[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:8])
            transitions = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
            if step == 0:
                corner = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                corner = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            removed = (inner == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & corner
            if removed.any():
                inner[removed] = 0
                changed = True
        if not changed:
            return


def thin_example():
    """Tiny arguments (warm-up): a 3x3 block with a zero border."""
    image = np.pad(np.ones((3, 3), np.uint8), 1)
    return image, np.zeros_like(image)


thin_into = Kernel(thin_loops, thin_numpy, thin_example, work="image", threads=False)


def restroke(digit, width, canvas=280, upscale=4, threshold=0.35):
    """An MNIST digit (28, 28) uint8 redrawn as a canvas shows pen strokes: its skeleton traced by
    a round pen `width` canvas pixels wide, dark on white, (canvas, canvas) uint8.

    A real writer's digit with a drawing app's strokes: uniform width, round caps, any thickness.
    """
    from PIL import Image

    size = digit.shape[0] * upscale
    enlarged = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR), np.float32)
    skeleton = np.pad(thin(enlarged / 255 > threshold), 1).astype(bool)
    scale = canvas / size
    segments, linked = [], np.zeros(skeleton.shape, bool)
    for d_row, d_col in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each neighbour pair once
        pair = skeleton & np.roll(np.roll(skeleton, -d_row, 0), -d_col, 1)
        starts = np.argwhere(pair)
        ends = starts + (d_row, d_col)
        segments.append(np.concatenate([starts[:, ::-1], ends[:, ::-1]], 1))
        linked[pair] = True
        linked[tuple((starts + (d_row, d_col)).T)] = True
    alone = np.argwhere(skeleton & ~linked)
    segments.append(np.concatenate([alone[:, ::-1], alone[:, ::-1]], 1))
    segments = (np.concatenate(segments).astype(np.float64) - 1 + 0.5) * scale  # (x, y) canvas pixels
    coverage = np.zeros((canvas, canvas), np.float32)
    draw_segments(coverage, segments, width)
    return coverage_to_image(coverage)
