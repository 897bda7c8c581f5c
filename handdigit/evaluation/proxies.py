"""Proxies for what real users give the recognizer, made by generators and writers that training
never used, so that their figures can be trusted to say something about the real thing.

Digit proxies (real digits: the answer must be the digit, not "not a digit"):

    mnist-test        MNIST's test writers, as scanned (training saw MNIST's other writers)
    typed             digits typed in 21 fonts (matplotlib's DejaVu, STIX and Computer Modern
                      families; only fonts whose glyph is the digit: `fonts_typing`), any size,
                      slant and turn: training saw no font
    typed-pen         those glyphs' skeletons redrawn with a round pen, thin to thick
    tablet-8          MNIST test writers' digits traced along their skeleton (pen-up jumps joined),
                      resampled to 8 points and drawn as straight segments: a tablet sampling few
                      points (training's polylines came from its own stroke styles)
    traced            tablet-8's traces at full resolution: MNIST test writers' digits traced along
                      their skeleton as one pen path, its pen-up jumps drawn as lines (a trajectory
                      recorded without its pen-up flags; training joins pen-up moves only in its
                      own styles' few-point polylines)
    hershey-8         digits of the Hershey single-stroke vector fonts (futural, rowmans, cursive,
                      greeks) slanted and stretched, in the font's stroke order (an engraver's)
                      or a reading order, their pen-up moves joined, resampled to 8 points: a
                      second tablet proxy, from a generator neither training nor tablet-8 uses
    coarse-scan       MNIST test digits fitted into a 32x32 bitmap, counted over an 8x8 grid (ink
                      counts 0-16) and scaled back up, nearest or bilinear: a low-resolution
                      scanner
    thick-scan        coarse-scan with broad ink: the bitmap's strokes grown by 1-2 pixels each
                      side before counting (a broad pen, or a scanner that counts faint ink), so
                      at 8x8 a 0's hole nearly closes
    blurred-scan      MNIST test digits averaged over a 10x10 to 16x16 grid, scaled back up
                      (bilinear or bicubic), blurred and faded: a grey low-resolution scanner
    slanted-squashed  MNIST test writers' digits sheared, squashed and stretched
    corner            MNIST test writers' digits redrawn small, with a thin pen, in a corner
    thick-thin        MNIST test writers' digits redrawn with very thin and very thick pens
    styles            training's own stroke styles, other random draws: it resembles training,
                      so it is the optimistic one

Non-digit proxies (the answer must be "not a digit"):

    typed-symbols     letters and symbols typed in those fonts (none a reader could take for a
                      digit: no O, I, l, S, Z, G, b, q, g, ...)
    typed-symbols-pen their skeletons redrawn with a round pen
    hershey-letters   those letters and symbols in Hershey vector fonts (simplex, script, cursive,
                      Times, gothic), drawn stroke by stroke with a round pen
    shapes            polygons of 3-5 sides, stars, arrows, crosses, grids and spirals from a
                      generator of their own (training's shapes are strokes in a unit box, these are not)
    hershey-symbols   symbols of Hershey's astrology, meteorology, map-marker and music fonts and
                      Japanese kanji and kana, stroke by stroke with a round pen: kinds training
                      never drew (those a reader could take for a digit left out: HERSHEY_SYMBOLS)
    numbers           two or three digits side by side, by MNIST's test writers or in a Hershey
                      font (the number reader's composers, handdigit.evaluation.numbers), fitted
                      in the canvas: a number is not one digit (training's numbers are made of
                      its own stroke styles)
    pictograms        what people draw to test a pad: a stick figure, a sun, a cat's face, a
                      key, noughts and crosses... (handdigit.evaluation.pictograms, a generator
                      of its own; training draws none of these pictures)

`make_proxy(name, count, seed)` gives (images (N, 280, 280) uint8 dark ink on white, labels (N,),
NOT_A_DIGIT for non-digits). `evaluate_proxies(recognizer)` runs them all through the Recognizer.
"""

import functools
import math
from pathlib import Path

import numpy as np

from handdigit.data.drawings import NOT_A_DIGIT
from handdigit.data.hershey import glyph
from handdigit.recognition.calibration import NEEDS_HEAD, SCORES

CANVAS = 280
DIGIT_PROXIES = (
    "mnist-test", "typed", "typed-pen", "tablet-8", "hershey-8", "coarse-scan", "slanted-squashed", "corner", "thick-thin", "styles",
    "blurred-scan", "thick-scan", "traced",
)  # fmt: skip
NONDIGIT_PROXIES = (
    "typed-symbols", "typed-symbols-pen", "hershey-letters", "shapes", "hershey-symbols", "numbers", "pictograms",
)  # fmt: skip
# the proxies that redraw one MNIST test digit each (the numbers proxy composes its own)
FROM_MNIST_TEST_DIGITS = (
    "mnist-test", "tablet-8", "coarse-scan", "slanted-squashed", "corner", "thick-thin", "blurred-scan",
    "thick-scan", "traced",
)  # fmt: skip
# The proxies each draw from their own random stream, numbered by name; a proxy added later
# gets a number after these, so that the earlier ones keep drawing the same images.
FIRST_PROXIES = sorted(
    ("mnist-test", "typed", "typed-pen", "tablet-8", "hershey-8", "coarse-scan", "slanted-squashed", "corner",
     "thick-thin", "styles", "typed-symbols", "typed-symbols-pen", "hershey-letters", "shapes")
)  # fmt: skip
LATER_PROXIES = ("hershey-symbols", "numbers", "pictograms", "blurred-scan", "thick-scan", "traced")
HERSHEY_DIGIT_FONTS = ("futural", "rowmans", "cursive", "greeks")  # one line per stroke
HERSHEY_LETTER_FONTS = ("futural", "rowmans", "cursive", "scripts", "timesr", "gothiceng")
# Typed characters that no reader would take for a digit.
LETTERS_AND_SYMBOLS = "ACEFHKLMNPRTUVWXYcefhkmnprtuvwxy+=#%&@?!*<>^~$€£"
# Hershey symbol fonts: the keys that draw a symbol no reader would take for a digit (left out:
# round closed shapes, bars and thin wedges, hooks like a 9, a 4-like Jupiter, a 6-like cancer sign,
# a lying 8 (infinity), the natural sign, clefs, rests, kana like 3, 5, 6, 7 or 0 (う, ら, ち, る, ろ,
# つ, て, の, り), 一 and 七).
HERSHEY_SYMBOLS = {
    "astrology": "!$%'+-./:;<=>?@[]_`{|}~",
    "meteorology": "\"#$%&'()*+.:;?@`|",
    "markers": "BCDEFGHIKLMNOP",
    "music": "'+;>?@~",
    "japanese": "#$%&'()*+,-./01345679:ABDEFGHIJKLMNOPTUVWXZ[\\]^_`abcdefghlnoqrsxyz{|}~",
}


def font_paths():
    """The TrueType fonts matplotlib ships (so every installation has them), text fonts only."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    names = [
        "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
        "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
        "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
        "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
        "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
        "DejaVuSansDisplay.ttf", "DejaVuSerifDisplay.ttf", "cmmi10.ttf", "cmsy10.ttf",
    ]  # fmt: skip
    return [folder / name for name in names if (folder / name).is_file()]


@functools.cache
def _character_map(path):
    """{code point: glyph name} of a TrueType font (fontTools reads the font's cmap table)."""
    from fontTools.ttLib import TTFont

    return TTFont(str(path), lazy=True).getBestCmap() or {}


def fonts_typing(character, fonts):
    """The fonts among `fonts` whose glyph for `character` is that character, by the glyph's name
    in the Adobe Glyph List (old-style figures count): a math symbol font's "1" is an infinity
    sign (cmsy10), a display font has no digits at all; typing with them draws something else."""
    from fontTools import agl

    def types_it(path):
        name = _character_map(path).get(ord(character))
        return name is not None and agl.toUnicode(name.removesuffix("oldstyle")) == character

    return [path for path in fonts if types_it(path)]


def typed(character, rng, fonts):
    """`character` typed in a random font of `fonts` that has it, with a random size, slant and
    turn, somewhere on the canvas: (CANVAS, CANVAS) uint8, dark on white."""
    from PIL import Image, ImageDraw, ImageFont

    having = fonts_typing(character, fonts)
    if not having:
        raise ValueError(f"typed: none of the {len(fonts)} fonts has the character {character!r}")
    font = ImageFont.truetype(str(having[rng.integers(len(having))]), int(rng.integers(60, 200)))
    glyph = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
    ImageDraw.Draw(glyph).text((CANVAS // 2, CANVAS // 2), character, fill=255, font=font)
    shear = rng.uniform(-0.3, 0.3)
    glyph = glyph.transform(
        glyph.size, Image.Transform.AFFINE, (1, shear, -shear * CANVAS, 0, 1, 0), Image.Resampling.BILINEAR
    )
    glyph = glyph.rotate(rng.uniform(-15, 15), Image.Resampling.BILINEAR)
    return _placed(np.asarray(glyph), rng)


def _placed(ink, rng, height=(0.3, 0.8)):
    """Ink (H, W) uint8 cropped, scaled to a random height of the canvas and put at a random place:
    (CANVAS, CANVAS) uint8, dark on white."""
    from PIL import Image

    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(*height) * CANVAS / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    scaled = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    top = int(rng.integers(0, CANVAS - scaled.shape[0] + 1))
    left = int(rng.integers(0, CANVAS - scaled.shape[1] + 1))
    canvas[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    return 255 - canvas


def redrawn_with_pen(image, width):
    """A dark-on-white image's skeleton redrawn with a round pen `width` pixels wide (a hand's stroke
    over a typed or scanned shape)."""
    from handdigit.data.synthetic import thin
    from handdigit.preprocess import coverage_to_image, draw_segments

    skeleton = thin(np.asarray(image) < 128)
    segments = _skeleton_segments(skeleton)
    coverage = np.zeros(image.shape, np.float32)
    draw_segments(coverage, segments + 0.5, width)
    return coverage_to_image(coverage)


def _skeleton_segments(skeleton):
    """(S, 4) segments (x0, y0, x1, y1) joining 8-connected skeleton pixels (a point for a lone one)."""
    padded = np.pad(skeleton.astype(bool), 1)
    segments = []
    for d_row, d_col in ((0, 1), (1, -1), (1, 0), (1, 1)):
        pair = padded & np.roll(np.roll(padded, -d_row, 0), -d_col, 1)
        starts = np.argwhere(pair) - 1
        segments.append(np.concatenate([starts[:, ::-1], (starts + (d_row, d_col))[:, ::-1]], 1))
    points = np.argwhere(skeleton)
    segments.append(np.concatenate([points[:, ::-1], points[:, ::-1]], 1))
    return np.concatenate(segments).astype(np.float64)


def trace(skeleton):
    """The pen's path over a skeleton (H, W) bool: from its top-most end along every pixel (depth
    first); at a dead end the pen lifts and moves straight to the next branch still to draw, or to
    the next piece, as a tablet joining pen-up moves records it. Returns (K, 2) points (x, y) at
    pixel centres."""
    remaining = {tuple(point) for point in np.argwhere(skeleton)}

    def neighbours(pixel):
        row, col = pixel
        return [
            (row + d_row, col + d_col)
            for d_row in (-1, 0, 1)
            for d_col in (-1, 0, 1)
            if (d_row or d_col) and (row + d_row, col + d_col) in remaining
        ]

    path = []
    while remaining:
        ends = [pixel for pixel in remaining if len(neighbours(pixel)) == 1]
        start = min(ends or remaining)  # the top-most end (a loop: its top-most pixel)
        stack = [start]
        remaining.discard(start)
        path.append(start)
        while stack:
            following = neighbours(stack[-1])
            if following:
                pixel = min(following, key=lambda p: (abs(p[0] - stack[-1][0]) + abs(p[1] - stack[-1][1]), p))
                if path[-1] != stack[-1]:
                    path.append(stack[-1])  # the pen jumps back to this branch point
                remaining.discard(pixel)
                stack.append(pixel)
                path.append(pixel)
            else:
                stack.pop()
    return np.array(path, np.float64)[:, ::-1] + 0.5


def tablet(image, points, width):
    """A dark-on-white image's digit as a tablet sampling `points` points gives it: its skeleton traced
    (`trace`), resampled to `points` points at equal distances (None: every pixel of the path),
    joined by straight segments of a round pen `width` wide, on a canvas of the image's size."""
    from handdigit.data.synthetic import _equidistant, thin
    from handdigit.preprocess import rasterize

    skeleton = thin(np.asarray(image) < 128)
    path = trace(skeleton)
    sampled = path if points is None else _equidistant(path, points)
    return rasterize([sampled.tolist()], image.shape[0], width)


def coarse_scan(digit28, rng, grow=0):
    """An MNIST digit (28, 28) uint8 as a coarse scanner counts it: fitted into a 32x32 bitmap (its
    longer side 26-32 pixels, as a form reader normalises a digit to its box), thresholded, its
    strokes grown by `grow` pixels each side (a broad pen), its ink counted over 4x4 blocks (0-16
    per cell of an 8x8 grid), scaled up to the canvas by nearest neighbour or bilinear resampling.
    Dark on white."""
    from PIL import Image, ImageFilter

    rows, cols = np.flatnonzero(digit28.max(axis=1) > 0), np.flatnonzero(digit28.max(axis=0) > 0)
    crop = digit28[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(26, 32) / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    fitted = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))
    bitmap = np.zeros((32, 32), bool)
    top, left = (32 - fitted.shape[0]) // 2, (32 - fitted.shape[1]) // 2
    bitmap[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted > 96
    if grow:
        grown = Image.fromarray(bitmap.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * grow + 1))
        bitmap = np.asarray(grown) > 0
    counts = bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.float32)
    resample = Image.Resampling.NEAREST if rng.random() < 0.5 else Image.Resampling.BILINEAR
    up = np.asarray(Image.fromarray(counts * (255 / 16), mode="F").resize((CANVAS, CANVAS), resample))
    return (255 - np.clip(up, 0, 255)).astype(np.uint8)


def blurred_scan(digit28, rng):
    """An MNIST digit (28, 28) uint8 as a grey low-resolution scanner sees it: fitted into a square
    grid of 10 to 16 cells (its longer side 70-100% of the grid), each cell the mean of its ink,
    scaled up to the canvas by bilinear or bicubic resampling, blurred (a Gaussian of 2-8 canvas
    pixels) and faded (the darkest ink 55-100% black). Dark on white."""
    from PIL import Image, ImageFilter

    rows, cols = np.flatnonzero(digit28.max(axis=1) > 0), np.flatnonzero(digit28.max(axis=0) > 0)
    crop = digit28[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    cells = int(rng.integers(10, 17))
    scale = rng.uniform(0.7, 1.0) * cells / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    fitted = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BOX), np.float32)
    grid = np.zeros((cells, cells), np.float32)
    top, left = (cells - fitted.shape[0]) // 2, (cells - fitted.shape[1]) // 2
    grid[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted * rng.uniform(0.55, 1.0)
    resample = Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.BICUBIC
    up = Image.fromarray(grid, mode="F").resize((CANVAS, CANVAS), resample)
    ink = Image.fromarray(np.clip(np.asarray(up), 0, 255).astype(np.uint8))
    ink = ink.filter(ImageFilter.GaussianBlur(rng.uniform(2, 8)))
    return (255 - np.asarray(ink)).astype(np.uint8)


def sheared(digit28, rng):
    """An MNIST digit sheared, squashed or stretched, on the canvas, dark on white."""
    from PIL import Image

    shear, aspect = rng.uniform(-0.6, 0.6), rng.choice([rng.uniform(0.45, 0.75), rng.uniform(1.4, 2.2)])
    big = Image.fromarray(digit28).resize((CANVAS // 2, CANVAS // 2), Image.Resampling.BILINEAR)
    big = big.resize((max(8, int(CANVAS // 2 * aspect)), CANVAS // 2), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (CANVAS * 2, CANVAS), 0)
    canvas.paste(big, (CANVAS // 2, CANVAS // 4))
    canvas = canvas.transform(
        canvas.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * CANVAS / 2, 0, 1, 0),
        Image.Resampling.BILINEAR,
    )
    return _placed(np.asarray(canvas), rng, height=(0.4, 0.9))


def hershey_strokes(character, font, rng):
    """`character`'s strokes in the Hershey vector font `font`, slanted, stretched and turned a
    little, fitted to 40-85% of the canvas at a random place: a list of (K, 2) arrays (x, y)."""
    strokes = glyph(character, font)
    shear, aspect, turn = rng.uniform(-0.35, 0.35), rng.uniform(0.7, 1.3), math.radians(rng.uniform(-10, 10))
    transform = np.array([[aspect, shear], [0, 1]]) @ np.array(
        [[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]]
    )
    strokes = [stroke @ transform.T for stroke in strokes]
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    scale = rng.uniform(0.4, 0.85) * CANVAS / max(high - low)
    size = (high - low) * scale
    corner = np.array([rng.uniform(0, CANVAS - size[0]), rng.uniform(0, CANVAS - size[1])])
    return [(stroke - low) * scale + corner for stroke in strokes]


def in_reading_order(strokes):
    """Strokes reordered as a writer tends to draw them: the highest first (left first on a tie),
    each from its end nearer the top left."""
    started = [stroke if stroke[0].sum() <= stroke[-1].sum() else stroke[::-1] for stroke in strokes]
    return sorted(started, key=lambda stroke: (round(stroke[:, 1].min() / 10), stroke[:, 0].min()))


SHAPE_KINDS = ("polygon", "star", "arrow", "grid", "spiral", "cross")


def shape(rng, with_kind=False):
    """A geometric shape or mark from a generator of its own, on the canvas, dark on white (and its
    kind, one of SHAPE_KINDS, `with_kind`)."""
    from handdigit.preprocess import rasterize

    kind = rng.integers(6)
    centre, radius = np.array([CANVAS / 2, CANVAS / 2]), rng.uniform(40, 110)
    if kind == 0:  # a regular polygon of 3 to 5 sides (more look like a circle: a 0)
        sides = int(rng.integers(3, 6))
        angles = rng.uniform(0, 2 * math.pi) + np.linspace(0, 2 * math.pi, sides + 1)
        strokes = [(centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)).tolist()]
    elif kind == 1:  # a star of 4 to 8 points
        points = int(rng.integers(4, 9))
        angles = rng.uniform(0, 2 * math.pi) + np.linspace(0, 2 * math.pi, 2 * points + 1)
        radii = np.where(np.arange(2 * points + 1) % 2 == 0, radius, radius * rng.uniform(0.3, 0.55))
        strokes = [(centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1)).tolist()]
    elif kind == 2:  # an arrow in any direction
        angle = rng.uniform(0, 2 * math.pi)
        direction = np.array([math.cos(angle), math.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        tip = centre + direction * radius
        strokes = [[(centre - direction * radius).tolist(), tip.tolist()],
                   [(tip - direction * 40 + normal * 30).tolist(), tip.tolist(), (tip - direction * 40 - normal * 30).tolist()]]  # fmt: skip
    elif kind == 3:  # a grid of lines
        lines = int(rng.integers(2, 5))
        offsets = np.linspace(-radius, radius, lines)
        strokes = [[(centre + (o, -radius)).tolist(), (centre + (o, radius)).tolist()] for o in offsets]
        strokes += [[(centre + (-radius, o)).tolist(), (centre + (radius, o)).tolist()] for o in offsets]
    elif kind == 4:  # a spiral
        t = np.linspace(0, rng.uniform(3, 6) * math.pi, 80)
        strokes = [(centre + (t / t[-1] * radius)[:, None] * np.stack([np.cos(t), np.sin(t)], 1)).tolist()]
    else:  # a cross of two or three bars
        bars = int(rng.integers(2, 4))
        strokes = []
        for angle in rng.uniform(0, math.pi) + np.arange(bars) * math.pi / bars:
            direction = np.array([math.cos(angle), math.sin(angle)]) * radius
            strokes.append([(centre - direction).tolist(), (centre + direction).tolist()])
    image = rasterize(strokes, CANVAS, rng.uniform(4, 26))
    return (image, SHAPE_KINDS[kind]) if with_kind else image


def _fitted(image, rng):
    """A dark-on-white image scaled (keeping its proportions) to fit the canvas with a random
    margin, centred on white paper."""
    from PIL import Image

    scale = CANVAS * rng.uniform(0.6, 0.95) / max(image.shape)
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    fitted = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    canvas = np.full((CANVAS, CANVAS), 255, np.uint8)
    top, left = (CANVAS - fitted.shape[0]) // 2, (CANVAS - fitted.shape[1]) // 2
    canvas[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    return canvas


def make_proxy(name, count, seed=0, mnist=None, with_kinds=False):
    """(images (N, CANVAS, CANVAS) uint8 dark ink on white, labels (N,) intp) of proxy `name`
    (see the module docstring); `mnist`: the data set (loaded the usual way when None). With
    `with_kinds`, a third item: what each input is, [str] (the digit; for a non-digit the
    character typed or written, the shape's kind, the Hershey symbol font, the number's length
    and source, the pictogram), so that an evaluation can say which kinds pass for digits; the
    images are the same either way."""
    known = FIRST_PROXIES + list(LATER_PROXIES)
    if name not in known:
        raise ValueError(f"unknown proxy {name!r}; known: {', '.join(DIGIT_PROXIES + NONDIGIT_PROXIES)}")
    rng = np.random.default_rng([seed, known.index(name)])
    if mnist is None and name in (*FROM_MNIST_TEST_DIGITS, "numbers"):
        from handdigit.data import load_mnist

        mnist = load_mnist()
    if name in FROM_MNIST_TEST_DIGITS:
        picks = rng.choice(len(mnist.test_labels), count, replace=False)
        digits, labels = mnist.test_images[picks], mnist.test_labels[picks].astype(np.intp)
    images, kinds = [], []
    for index in range(count):
        kind = None  # a digit proxy's kind is its label
        if name == "mnist-test":
            from PIL import Image

            images.append(
                255
                - np.asarray(
                    Image.fromarray(digits[index]).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
                )
            )
        elif name == "coarse-scan":
            images.append(coarse_scan(digits[index], rng))
        elif name == "blurred-scan":
            images.append(blurred_scan(digits[index], rng))
        elif name == "thick-scan":
            images.append(coarse_scan(digits[index], rng, grow=int(rng.integers(1, 3))))
        elif name == "slanted-squashed":
            images.append(sheared(digits[index], rng))
        elif name in ("tablet-8", "traced", "corner", "thick-thin"):
            from handdigit.data.synthetic import restroke

            if name in ("tablet-8", "traced"):
                scan = restroke(digits[index], 6.0, CANVAS)
                images.append(tablet(scan, 8 if name == "tablet-8" else None, rng.uniform(8, 22)))
            elif name == "corner":
                box = int(rng.integers(50, 100))
                small = restroke(digits[index], rng.uniform(1.5, 4.0), box)
                canvas = np.full((CANVAS, CANVAS), 255, np.uint8)
                top, left = [(0, 0), (0, CANVAS - box), (CANVAS - box, 0), (CANVAS - box, CANVAS - box)][
                    rng.integers(4)
                ]
                canvas[top : top + box, left : left + box] = small
                images.append(canvas)
            else:
                width = rng.uniform(1.5, 4.0) if rng.random() < 0.5 else rng.uniform(38, 60)
                images.append(restroke(digits[index], width, CANVAS))
        elif name in ("typed", "typed-pen", "typed-symbols", "typed-symbols-pen"):
            fonts = font_paths()
            characters = (
                "0123456789" if name.startswith("typed") and "symbols" not in name else LETTERS_AND_SYMBOLS
            )
            character = (
                characters[index % len(characters)]
                if "symbols" not in name
                else characters[rng.integers(len(characters))]
            )
            image = typed(character, rng, fonts)
            kind = character
            if name.endswith("-pen"):
                image = redrawn_with_pen(image, rng.uniform(5, 28))
            images.append(image)
        elif name == "shapes":
            image, kind = shape(rng, with_kind=True)
            images.append(image)
        elif name == "hershey-8":
            from handdigit.data.synthetic import as_polyline
            from handdigit.preprocess import rasterize

            font = HERSHEY_DIGIT_FONTS[rng.integers(len(HERSHEY_DIGIT_FONTS))]
            strokes = hershey_strokes(str(index % 10), font, rng)
            if rng.random() < 0.5:
                strokes = in_reading_order(strokes)
            images.append(rasterize(as_polyline(strokes, 8, join_pen_ups=True), CANVAS, rng.uniform(6, 24)))
        elif name == "hershey-letters":
            from handdigit.preprocess import rasterize

            font = HERSHEY_LETTER_FONTS[rng.integers(len(HERSHEY_LETTER_FONTS))]
            ascii_only = [c for c in LETTERS_AND_SYMBOLS if c.isascii()]
            kind = ascii_only[rng.integers(len(ascii_only))]
            strokes = hershey_strokes(kind, font, rng)
            images.append(rasterize([stroke.tolist() for stroke in strokes], CANVAS, rng.uniform(5, 26)))
        elif name == "hershey-symbols":
            from handdigit.preprocess import rasterize

            font = list(HERSHEY_SYMBOLS)[rng.integers(len(HERSHEY_SYMBOLS))]
            keys, kind = HERSHEY_SYMBOLS[font], font
            strokes = hershey_strokes(keys[rng.integers(len(keys))], font, rng)
            images.append(rasterize([stroke.tolist() for stroke in strokes], CANVAS, rng.uniform(4, 22)))
        elif name == "numbers":
            from handdigit.evaluation.numbers import compose_drawn, compose_from_mnist

            if index % 2 == 0:
                number, text = compose_from_mnist(mnist.test_images, mnist.test_labels, rng, lengths=(2, 3))
            else:
                number, text = compose_drawn(rng, lengths=(2, 3))
            kind = f"{len(text)} {'MNIST' if index % 2 == 0 else 'Hershey'} digits"
            images.append(_fitted(number, rng))
        elif name == "pictograms":
            from handdigit.evaluation.pictograms import pictogram

            image, kind = pictogram(rng, CANVAS)
            images.append(image)
        elif name == "styles":
            from handdigit.data.synthetic import STYLES, draw_strokes
            from handdigit.preprocess import rasterize

            digit = index % 10
            styles = list(STYLES[digit])
            strokes = draw_strokes(digit, styles[rng.integers(len(styles))], rng, CANVAS)
            images.append(rasterize(strokes, CANVAS, rng.uniform(6, 30)))
        else:
            raise ValueError(f"unknown proxy {name!r}; known: {', '.join(DIGIT_PROXIES + NONDIGIT_PROXIES)}")
        kinds.append(kind)
    if name in ("typed", "typed-pen", "hershey-8", "styles"):
        labels = np.arange(count) % 10
    elif name in NONDIGIT_PROXIES:
        labels = np.full(count, NOT_A_DIGIT)
    labels = np.asarray(labels, np.intp)
    if with_kinds:
        return (
            np.stack(images),
            labels,
            [str(label) if kind is None else kind for kind, label in zip(kinds, labels, strict=True)],
        )
    return np.stack(images), labels


def evaluate_proxies(recognizer=None, count=300, seed=0, mnist=None, names=None, progress=None):
    """Every proxy (or `names`) through the Recognizer's whole path (preprocessing included), as a
    JSON-ready dict: per digit proxy its accuracy, per-class accuracy and the share flagged "not a
    digit" (false alarms); per non-digit proxy the share flagged (rejection); and, for the
    threshold sweep figure, every input's score by each score of handdigit.recognition.calibration
    on one view, and by the rule as its threshold reads them (`scores["rule"]`; with views, every
    input averaged over them, and `gate_disagreements` counts the inputs for which the gate, which
    averages only near the threshold as predict does, answered otherwise)."""
    from handdigit.recognition.recognizer import Recognizer

    recognizer = recognizer or Recognizer.load()
    calibration = recognizer.calibration
    report = {
        "count": count,
        "seed": seed,
        "calibration": {
            "temperature": calibration.temperature,
            "score": calibration.score,
            "threshold": calibration.rule_threshold,  # what "rule" scores are compared with
            "one_view_threshold": calibration.threshold,  # what the one-view score is compared with
            "views": None if calibration.views is None else calibration.views.to_dict(),
        },
        "proxies": {},
    }
    for name in names or DIGIT_PROXIES + NONDIGIT_PROXIES:
        images, labels, kinds = make_proxy(name, count, seed, mnist, with_kinds=True)
        views = [recognizer.preprocess(image) for image in images]
        present = np.array([view is not None for view in views])
        logits = np.zeros((len(views), recognizer.model.output_shape[-1]))
        distances = np.ones(len(views)) if recognizer.distance is not None else None
        if present.any():
            logits[present], seen = recognizer.outputs(np.stack([view for view in views if view is not None]))
            if distances is not None:
                distances[present] = seen
        digits = np.where(present, logits[:, :10].argmax(axis=1), -1)
        scores = {
            score: calibration.scores(
                logits[present], score, None if distances is None else distances[present]
            )
            for score in SCORES
            if (score not in NEEDS_HEAD or logits.shape[1] == 11)
            and (score != "odds-and-distance" or (distances is not None and calibration.distance_weight))
        }
        flagged = np.zeros(len(labels), bool)
        entry = {
            "kind": "digits" if name in DIGIT_PROXIES else "not digits",
            "images": int(len(labels)),
            "blank": int((~present).sum()),
        }
        if calibration.score is not None and not present.any():
            scores[RULE] = np.zeros(0)
        elif calibration.score is not None:
            shown = np.stack([view for view in views if view is not None])
            seen_distances = None if distances is None else distances[present]
            rule = recognizer.rule_scores(shown, logits[present], seen_distances)  # as predict decides
            flagged[present] = rule < calibration.rule_threshold
            if calibration.views is not None:  # every input averaged: the sweep's scores, the gate checked
                scores[RULE] = recognizer.rule_scores(shown, logits[present], seen_distances, gate=False)
                entry["gate_disagreements"] = int(
                    np.sum((scores[RULE] < calibration.rule_threshold) != flagged[present])
                )
            else:
                scores[RULE] = rule
        entry["flagged_not_a_digit"] = float(flagged.mean())
        entry["scores"] = {score: values.tolist() for score, values in scores.items()}
        if name in DIGIT_PROXIES:
            from handdigit.evaluation.metrics import calibration_error_floor, reliability

            correct = digits == labels
            confidence = np.where(present, calibration.probabilities(logits).max(axis=1), 0.0)
            entry.update(
                accuracy=float(correct.mean()),
                accepted_and_right=float((correct & ~flagged).mean()),
                per_class=[
                    float(correct[labels == digit].mean()) if np.any(labels == digit) else None
                    for digit in range(10)
                ],
                expected_calibration_error=reliability(confidence, correct)[0],
                calibration_error_floor=calibration_error_floor(confidence),
            )
        else:
            kinds = np.asarray(kinds)
            entry["rejected_by_kind"] = {
                kind: {"inputs": int((kinds == kind).sum()), "rejected": float(flagged[kinds == kind].mean())}
                for kind in sorted(set(kinds))
            }
        report["proxies"][name] = entry
        if progress is not None:
            progress(name, entry)
    return report


class ProgressBar:
    """A tqdm bar on stderr for `evaluate_proxies(..., progress=bar)`, one step per proxy and its
    name shown: 3,000 inputs of each of the eighteen proxies take minutes.

        with ProgressBar() as bar:
            report = evaluate_proxies(recognizer, count=3000, progress=bar)
    """

    def __init__(self, names=None, file=None):
        import sys

        from tqdm.auto import tqdm

        total = len(names or DIGIT_PROXIES + NONDIGIT_PROXIES)
        self.bar = tqdm(total=total, desc="evaluation proxies", unit="proxy", file=file or sys.stderr)

    def __call__(self, name, entry):
        self.bar.set_postfix_str(name, refresh=False)
        self.bar.update()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()


RULE = "rule"  # the scores' entry the not-a-digit rule compares with its threshold
MIN_KIND_INPUTS = 20  # a kind with fewer inputs is not named among the least rejected (too noisy)


def least_rejected(entry, count=3):
    """[(kind, share rejected)] of a non-digit proxy's `count` kinds that pass for digits most (of
    those with at least MIN_KIND_INPUTS inputs), from `evaluate_proxies`' entry."""
    kinds = {
        kind: figures["rejected"]
        for kind, figures in entry.get("rejected_by_kind", {}).items()
        if figures["inputs"] >= MIN_KIND_INPUTS
    }
    return sorted(kinds.items(), key=lambda item: (item[1], item[0]))[:count]


def weakest_text(entry):
    """'7: 89%, 8: 93%, 2: 95%' for a digit proxy (its least accurate digits), 'fish: 46%, ...' for a
    non-digit proxy (its least rejected kinds); '' when the entry has neither."""
    if "per_class" in entry:
        present = [digit for digit in range(10) if entry["per_class"][digit] is not None]
        order = sorted(present, key=lambda digit: entry["per_class"][digit])[:3]
        return ", ".join(f"{digit}: {entry['per_class'][digit]:.0%}" for digit in order)
    return ", ".join(f"{kind}: {share:.0%}" for kind, share in least_rejected(entry))


def summary_lines(report):
    """The report as a text table (no scores)."""
    lines = [
        f"{'proxy':20s} {'kind':11s} {'accuracy':>9s} {'flagged':>8s} {'ECE (floor)':>13s}  "
        "weakest digits / least rejected kinds"
    ]
    for name, entry in report["proxies"].items():
        accuracy = f"{entry['accuracy']:.1%}" if "accuracy" in entry else ""
        ece = (
            f"{entry['expected_calibration_error']:.1%} ({entry['calibration_error_floor']:.1%})"
            if "expected_calibration_error" in entry
            else ""
        )
        lines.append(
            f"{name:20s} {entry['kind']:11s} {accuracy:>9s} {entry['flagged_not_a_digit']:>8.1%} {ece:>13s}  "
            f"{weakest_text(entry)}"
        )
    views = report.get("calibration", {}).get("views")
    if views:
        entries = report["proxies"].values()
        inputs = sum(entry["images"] - entry["blank"] for entry in entries)
        agreed = inputs - sum(entry.get("gate_disagreements", 0) for entry in entries)
        lines.append(
            f"(the rule averages its score over 5 views moved {views['shift']:g} px when the view's own lies "
            f"within {views['margin']:.4g} of its threshold {views['threshold']:.4g}: that gate answered as "
            f"averaging every input for {agreed:,} of {inputs:,} inputs)"
        )
    if any(
        "rejected_by_kind" in entry and len(least_rejected(entry)) < min(3, len(entry["rejected_by_kind"]))
        for entry in report["proxies"].values()
    ):
        lines.append(
            f"(kinds drawn fewer than {MIN_KIND_INPUTS} times are not named: draw more inputs per proxy)"
        )
    return lines


def plot_threshold_sweep(report, path, score=None):
    """Two panels, a PNG. Left: rejection of the non-digit proxies and false alarms on the digit
    proxies against the threshold of `score` (default: the calibration's), the chosen threshold
    marked. Right: the trade-off itself, non-digits rejected against digits flagged (up to 10%), each
    non-digit proxy on its own, with the chosen point and the 3% false-alarm target."""
    from handdigit.plots import BLUE, GREEN, ORANGE, VERMILION, pyplot, save_figure

    plt = pyplot()
    entries = report["proxies"]
    rule = report["calibration"]["score"]
    score = score or (RULE if rule is not None else "max-probability")
    if score == RULE:
        views = report.get("calibration", {}).get("views")
        named = f"{rule} score" + (" (mean of 5 views)" if views else "")
    else:
        named = f"{score} score"
    digit_scores = np.concatenate(
        [np.array(e["scores"][score]) for e in entries.values() if e["kind"] == "digits"]
    )
    other_scores = np.concatenate(
        [np.array(e["scores"][score]) for e in entries.values() if e["kind"] != "digits"]
    )
    everything = np.concatenate([digit_scores, other_scores])
    low, high = np.quantile(everything, [0.001, 0.999])
    thresholds = np.linspace(low, high, 200)
    chosen = None
    if score == RULE:
        chosen = report["calibration"]["threshold"]
    elif score == rule:
        chosen = report["calibration"].get("one_view_threshold", report["calibration"]["threshold"])
    figure, (sweep, tradeoff) = plt.subplots(1, 2, figsize=(11, 4.2))
    sweep.plot(
        thresholds,
        [(other_scores < t).mean() for t in thresholds],
        color=BLUE,
        label="non-digit proxies flagged (rejection)",
    )
    sweep.plot(
        thresholds,
        [(digit_scores < t).mean() for t in thresholds],
        color=VERMILION,
        label="digit proxies flagged (false alarms)",
    )
    for (name, style), colour in zip(
        (("tablet-8", "--"), ("coarse-scan", "-."), ("hershey-8", ":")),
        (ORANGE, GREEN, "#CC79A7"),
        strict=True,
    ):
        if name in entries:
            values = np.array(entries[name]["scores"][score])
            sweep.plot(
                thresholds,
                [(values < t).mean() for t in thresholds],
                color=colour,
                linewidth=1,
                linestyle=style,
                label=f"{name} flagged",
            )
    if chosen is not None:
        sweep.axvline(chosen, color="black", linestyle=":", label=f"chosen threshold {chosen:.3g}")
    sweep.set(
        xlabel=f"threshold on the {named}; below it: not a digit",
        ylabel="share flagged",
        ylim=(0, 1.02),
        title="Against the threshold",
    )
    sweep.grid(alpha=0.3)
    sweep.legend(fontsize=7, loc="center left")

    fine = np.quantile(digit_scores, np.linspace(0, 0.10, 101))  # thresholds flagging 0-10% of digits
    false_alarms = np.array([(digit_scores < t).mean() for t in fine])
    colours = (BLUE, GREEN, ORANGE, VERMILION, "#CC79A7", "#56B4E9")  # then again, dashed
    for number, (name, entry) in enumerate((n, e) for n, e in entries.items() if e["kind"] != "digits"):
        values = np.array(entry["scores"][score])
        tradeoff.plot(
            100 * false_alarms,
            [100 * (values < t).mean() for t in fine],
            color=colours[number % len(colours)],
            linestyle="-" if number < len(colours) else "--",
            label=name,
        )
    tradeoff.plot(
        100 * false_alarms,
        [100 * (other_scores < t).mean() for t in fine],
        color="black",
        linewidth=2,
        label="all non-digit proxies",
    )
    if chosen is not None:
        tradeoff.plot(
            [100 * (digit_scores < chosen).mean()],
            [100 * (other_scores < chosen).mean()],
            "ko",
            label="chosen threshold",
        )
    tradeoff.axvline(3, color="grey", linestyle="--", linewidth=0.8, label="3% of digits flagged")
    tradeoff.axhline(90, color="grey", linestyle=":", linewidth=0.8, label="90% of non-digits rejected")
    tradeoff.set(
        xlabel="digit proxies flagged (%)",
        ylabel="non-digits rejected (%)",
        xlim=(0, 10),
        ylim=(0, 100),
        title="The trade-off",
    )
    tradeoff.grid(alpha=0.3)
    tradeoff.legend(fontsize=7, loc="lower right")
    figure.suptitle("Not a digit: rejection against false alarms")
    return save_figure(figure, path)
