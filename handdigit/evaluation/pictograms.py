"""Little pictures people draw on a pad when they test it: a stick figure, a sun, a tree, a flower,
a fish, a car, an envelope, an umbrella, a cup, a boat, a cat's face, a crown, a spider, a key, a
ladder, a game of noughts and crosses. A proxy for "not a digit" from a generator of its own:
training draws none of these (its non-digits are letters, symbols, shapes and scribbles,
handdigit.data.nondigits; its smiley and house are why they are not here).

Left out because a reader could take them for a digit or a single round shape: a snowman (an 8),
glasses (a lying 8), a lollipop tree (a 9), a bullseye or a moon (a 0, a C), a lightning bolt (a
4 or a Z), a musical note.

Each pictogram is a function of a random generator giving strokes in a box of side 1 (x right,
y down); `pictogram(rng, canvas)` draws one at a random size, place, turn and pen.
"""

import math

import numpy as np


def _circle(cx, cy, rx, ry=None, start=0.0, end=360.0, points=32):
    ry = rx if ry is None else ry
    angles = np.radians(np.linspace(start, end, points))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], 1)


def _line(*points):
    return np.asarray(points, np.float64)


def _dot(x, y, size=0.02):
    return _line((x - size, y), (x + size, y))


def stick_figure(rng):
    arms = rng.uniform(0.35, 0.5)
    return [
        _circle(0.5, 0.13, 0.12),
        _line((0.5, 0.25), (0.5, 0.65)),
        _line((0.2, arms + rng.uniform(-0.1, 0.1)), (0.5, arms - 0.05), (0.8, arms + rng.uniform(-0.1, 0.1))),
        _line((0.28, 1.0), (0.5, 0.65), (0.72, 1.0)),
    ]


def sun(rng):
    rays = int(rng.integers(6, 11))
    strokes = [_circle(0.5, 0.5, 0.2)]
    for angle in np.linspace(0, 2 * math.pi, rays, endpoint=False) + rng.uniform(0, 1):
        direction = np.array([math.cos(angle), math.sin(angle)])
        strokes.append(_line(0.5 + 0.28 * direction, 0.5 + 0.48 * direction))
    return strokes


def pine_tree(rng):
    tiers = int(rng.integers(2, 4))
    strokes = []
    for tier in range(tiers):
        top, bottom = 0.25 * tier, 0.25 * tier + 0.4
        half = 0.2 + 0.12 * tier
        strokes.append(_line((0.5 - half, bottom), (0.5, top), (0.5 + half, bottom), (0.5 - half, bottom)))
    bottom = 0.25 * (tiers - 1) + 0.4
    strokes.append(_line((0.45, bottom), (0.45, 1.0), (0.55, 1.0), (0.55, bottom)))
    return strokes


def flower(rng):
    petals = int(rng.integers(5, 8))
    strokes = [_circle(0.5, 0.32, 0.08)]
    for angle in np.linspace(0, 2 * math.pi, petals, endpoint=False):
        centre = np.array([0.5, 0.32]) + 0.17 * np.array([math.cos(angle), math.sin(angle)])
        petal = _circle(0, 0, 0.1, 0.06)
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        strokes.append(petal @ turn.T + centre)
    strokes.append(_line((0.5, 0.5), (0.5, 1.0)))
    strokes.append(_circle(0.62, 0.78, 0.12, 0.05, 180, 360, 10))  # a leaf
    return strokes


def fish(rng):
    return [
        _circle(0.42, 0.5, 0.36, rng.uniform(0.18, 0.28)),
        _line((0.78, 0.5), (1.0, 0.3), (1.0, 0.7), (0.78, 0.5)),
        _dot(0.22, 0.45),
    ]


def car(rng):
    return [
        _line((0.0, 0.75), (0.0, 0.5), (0.25, 0.45), (0.35, 0.25), (0.7, 0.25), (0.8, 0.45), (1.0, 0.5), (1.0, 0.75), (0.0, 0.75)),
        _circle(0.25, 0.8, 0.1),
        _circle(0.75, 0.8, 0.1),
        _line((0.55, 0.27), (0.55, 0.45)),
    ]  # fmt: skip


def envelope(rng):
    flap = rng.uniform(0.5, 0.7)
    return [
        _line((0.0, 0.2), (1.0, 0.2), (1.0, 0.85), (0.0, 0.85), (0.0, 0.2)),
        _line((0.0, 0.2), (0.5, flap), (1.0, 0.2)),
    ]


def umbrella(rng):
    canopy = _circle(0.5, 0.45, 0.48, 0.4, 180, 360, 24)
    scallops = [_circle(0.5 + offset, 0.45, 0.12, 0.06, 180, 0, 8) for offset in (-0.36, -0.12, 0.12, 0.36)]
    return [
        canopy,
        np.concatenate(scallops),
        _line((0.5, 0.45), (0.5, 0.9)) if rng.random() < 0.5 else _line((0.5, 0.45), (0.5, 0.95)),
        _circle(0.42, 0.95, 0.08, 0.05, 0, 180, 8),
    ]


def cup(rng):
    strokes = [
        _line((0.15, 0.35), (0.22, 0.95), (0.68, 0.95), (0.75, 0.35), (0.15, 0.35)),
        _circle(0.78, 0.6, 0.14, 0.14, -80, 80, 12),
    ]
    for x in (0.3, 0.45, 0.6)[: int(rng.integers(1, 4))]:
        strokes.append(
            np.stack([x + 0.03 * np.sin(np.linspace(0, 3 * math.pi, 12)), np.linspace(0.25, 0.0, 12)], 1)
        )
    return strokes


def boat(rng):
    return [
        _line((0.0, 0.7), (1.0, 0.7), (0.8, 0.95), (0.2, 0.95), (0.0, 0.7)),
        _line((0.5, 0.7), (0.5, 0.0)),
        _line((0.5, 0.05), (0.85, 0.6), (0.5, 0.6)),
    ]


def cat_face(rng):
    return [
        _circle(0.5, 0.58, 0.38, 0.34, -60, 240, 28),
        _line((0.19, 0.4), (0.2, 0.05), (0.4, 0.26)),
        _line((0.6, 0.26), (0.8, 0.05), (0.81, 0.4)),
        _dot(0.37, 0.52),
        _dot(0.63, 0.52),
        _line((0.05, 0.62), (0.35, 0.66)),
        _line((0.95, 0.62), (0.65, 0.66)),
        _line((0.46, 0.7), (0.5, 0.75), (0.54, 0.7)),
    ]


def crown(rng):
    points = int(rng.integers(3, 6))
    xs = np.linspace(0.0, 1.0, 2 * points - 1)
    ys = np.where(np.arange(2 * points - 1) % 2 == 0, 0.0, rng.uniform(0.3, 0.45))
    return [np.concatenate([_line((0.05, 1.0)), np.stack([xs, ys], 1), _line((0.95, 1.0), (0.05, 1.0))])]


def spider(rng):
    strokes = [_circle(0.5, 0.5, 0.16, 0.2), _circle(0.5, 0.24, 0.08)]
    for side in (-1, 1):
        for height in np.linspace(0.38, 0.65, 4):
            knee = (0.5 + side * 0.32, height - 0.12)
            strokes.append(_line((0.5 + side * 0.14, height), knee, (0.5 + side * 0.45, height + 0.15)))
    return strokes


def key(rng):
    teeth = int(rng.integers(2, 4))
    strokes = [_circle(0.15, 0.5, 0.15), _line((0.3, 0.5), (1.0, 0.5))]
    for tooth in range(teeth):
        x = 0.95 - 0.12 * tooth
        strokes.append(_line((x, 0.5), (x, 0.68)))
    return strokes


def ladder(rng):
    rungs = int(rng.integers(3, 7))
    strokes = [_line((0.25, 0.0), (0.25, 1.0)), _line((0.75, 0.0), (0.75, 1.0))]
    strokes += [_line((0.25, y), (0.75, y)) for y in np.linspace(0.1, 0.9, rungs)]
    return strokes


def noughts_and_crosses(rng):
    strokes = [
        _line((0.33, 0.0), (0.33, 1.0)),
        _line((0.67, 0.0), (0.67, 1.0)),
        _line((0.0, 0.33), (1.0, 0.33)),
        _line((0.0, 0.67), (1.0, 0.67)),
    ]
    cells = rng.permutation(9)[: int(rng.integers(2, 6))]
    for number, cell in enumerate(cells):
        x, y = 0.165 + 0.335 * (cell % 3), 0.165 + 0.335 * (cell // 3)
        if number % 2 == 0:
            strokes += [
                _line((x - 0.1, y - 0.1), (x + 0.1, y + 0.1)),
                _line((x + 0.1, y - 0.1), (x - 0.1, y + 0.1)),
            ]
        else:
            strokes.append(_circle(x, y, 0.1))
    return strokes


PICTOGRAMS = {
    "stick-figure": stick_figure, "sun": sun, "pine-tree": pine_tree, "flower": flower, "fish": fish,
    "car": car, "envelope": envelope, "umbrella": umbrella, "cup": cup, "boat": boat, "cat-face": cat_face,
    "crown": crown, "spider": spider, "key": key, "ladder": ladder, "noughts-and-crosses": noughts_and_crosses,
}  # fmt: skip


def pictogram(rng, canvas=280, kind=None):
    """(image (canvas, canvas) uint8 dark ink on white, its kind): a pictogram (`kind`, or one at
    random) drawn by hand: each stroke shaken a little, the whole stretched, turned up to 15
    degrees, 40-90% of the canvas high, anywhere on it, with a pen 3-22 px wide."""
    from handdigit.preprocess import rasterize

    kind = kind or list(PICTOGRAMS)[rng.integers(len(PICTOGRAMS))]
    if kind not in PICTOGRAMS:
        raise ValueError(f"unknown pictogram {kind!r}; known: {', '.join(PICTOGRAMS)}")
    strokes = [np.asarray(stroke, np.float64) for stroke in PICTOGRAMS[kind](rng)]
    strokes = [stroke + rng.normal(0, 0.012, 2) + rng.normal(0, 0.004, stroke.shape) for stroke in strokes]
    angle = math.radians(rng.uniform(-15, 15))
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    stretch = np.array([rng.uniform(0.8, 1.25), 1.0])
    strokes = [((stroke - 0.5) * stretch) @ turn.T for stroke in strokes]
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    scale = canvas * rng.uniform(0.4, 0.9) / max(high - low)
    room = canvas - (high - low) * scale
    origin = rng.uniform(0.1, 0.9, 2) * room
    placed = [((stroke - low) * scale + origin).tolist() for stroke in strokes]
    return rasterize(placed, canvas, rng.uniform(3, 22)), kind
