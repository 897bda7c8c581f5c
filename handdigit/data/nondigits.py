"""Drawings that are not digits: letters (Latin, Greek, Cyrillic), shapes, symbols and scribbles,
as pen strokes.

The recognizer must say "not a digit" for them instead of a confident wrong digit. Like the digit
styles (handdigit.data.synthetic), each kind is a few strokes in a unit box (x right, y down,
height 1) that `draw_nondigit` bends, slants, rotates, sizes and places at random. Left out on
purpose, because a reader could take them for a digit: O, D, I, l, S, Z, G, b, q, g, a bare circle
or any round closed shape (a hexagon, a cloud), a bare vertical bar, a slanted bar. Partial digits are few: a 4's first stroke alone (an L-like
corner).

Several digits side by side are not one digit either ("number": two or three digits, apart or
touching, a 1 beside another): a number drawn on the one-digit pad is not read as a digit, and
the number reader (handdigit.recognition.numbers) does not read two touching digits as one.

Kinds are grouped ("letter", "alphabet" (Greek and Cyrillic), "shape", "symbol", "scribble",
"partial", "number") so that evaluations can report each group; `kind_names()` lists them all.
"""

import math

import numpy as np

from handdigit.data.synthetic import STYLES, arc


def _poly(*points):
    return [tuple(point) for point in points]


def _star(points=5, inner=0.38):
    corners = []
    for index in range(2 * points + 1):
        radius = 0.5 if index % 2 == 0 else 0.5 * inner
        angle = -math.pi / 2 + index * math.pi / points
        corners.append((0.5 + radius * math.cos(angle), 0.5 + radius * math.sin(angle)))
    return corners


def _pentagram():
    angles = [-math.pi / 2 + k * 4 * math.pi / 5 for k in range(6)]
    return [(0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a)) for a in angles]


def _heart(points=40):
    result = []
    for t in np.linspace(0, 2 * math.pi, points):
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        result.append((0.5 + x / 34, 0.45 - y / 34))
    return result


def _spiral(turns=2.5, points=60):
    result = []
    for t in np.linspace(0, 1, points):
        angle, radius = 2 * math.pi * turns * t, 0.05 + 0.45 * t
        result.append((0.5 + radius * math.cos(angle), 0.5 + radius * math.sin(angle)))
    return result


def _wave(periods=2.0, amplitude=0.18, points=40):
    return [(x, 0.5 + amplitude * math.sin(2 * math.pi * periods * x)) for x in np.linspace(0, 1, points)]


def _zigzag(teeth=4, height=0.5):
    return [(index / (2 * teeth), 0.25 + height * (index % 2)) for index in range(2 * teeth + 1)]


def _l_shape(rng):
    """An L whose base is 0.3 to 0.9 of its height, the stem upright or leaning a little. The L is
    what users draw first to test a digit demo ("an L gives 6, 100%"), and a short-based L is easily
    read as a 1 or a 6: three fixed widths taught the network only the wide ones, and with every
    width equally often, four networks of five still read a base of 0.35 as a 1. So the short
    bases are drawn most: half of them under 0.45."""
    base = 0.3 + 0.6 * rng.random() ** 2
    return [_poly((rng.uniform(-0.04, 0.06), 0.0), (0.0, 1.0), (base, 1.0 - rng.uniform(0.0, 0.04)))]


def _c_shape(rng):
    """A C whose opening, on the right, spans 60 to 140 degrees, turned a little up or down; round
    or narrow. A fixed C taught one opening, and a C open less than that is read as a 0 (narrower
    than 60 degrees a reader could take it for an open 0 too, so none is drawn)."""
    half_gap, turn, width = rng.uniform(30, 70), rng.uniform(-20, 20), rng.uniform(0.3, 0.5)
    return [arc(width, 0.5, width, 0.5, turn - half_gap, turn - 360 + half_gap, 28)]


def _small_e(rng):
    """An e: a bar from left to right, then round to an end short of the bar, the loop's height and
    the bar's place and length varying."""
    width, height = rng.uniform(0.22, 0.32), rng.uniform(0.22, 0.32)
    bar = 0.7 + rng.uniform(-0.08, 0.04)
    start = 0.3 - width * rng.uniform(0.75, 1.0)
    return [
        _poly((start, bar), (0.3 + width, bar)) + arc(0.3, 0.7, width, height, 0, -rng.uniform(270, 320), 24)
    ]


def _capital_e(rng, lower_arm=True):
    """An E (or, without its lower arm, an F): arms of their own lengths, the middle one at 0.35 to
    0.6 of the height."""
    top, middle, bottom = rng.uniform(0.35, 0.7), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.7)
    height = rng.uniform(0.35, 0.6)
    spine = [(top, 0.0), (0.0, 0.0), (0.0, 1.0)] + ([(bottom, 1.0)] if lower_arm else [])
    return [_poly(*spine), _poly((0.0, height), (middle, height))]


def _capital_t(rng):
    """A T: a bar 0.4 to 0.9 of the height wide, the stem from near its middle, leaning a little."""
    half, at = rng.uniform(0.2, 0.45), rng.uniform(-0.06, 0.06)
    tilt, lean = rng.uniform(-0.05, 0.05), rng.uniform(-0.06, 0.06)
    return [_poly((0.5 - half, tilt), (0.5 + half, -tilt)), _poly((0.5 + at, 0.0), (0.5 + at + lean, 1.0))]


def _capital_y(rng):
    """A Y: arms meeting at 0.3 to 0.6 of the height, spread as wide as they like."""
    meet, spread, lean = rng.uniform(0.3, 0.6), rng.uniform(0.18, 0.4), rng.uniform(-0.05, 0.05)
    return [
        _poly((0.5 - spread, 0.0), (0.5, meet), (0.5 + spread, 0.0)),
        _poly((0.5, meet), (0.5 + lean, 1.0)),
    ]


def _small_r(rng):
    """An r: a stem, and from it a shoulder that bends over and stops 30 to 90 degrees past its
    top."""
    radius, rise = rng.uniform(0.18, 0.3), rng.uniform(0.15, 0.25)
    return [
        _poly((0.0, 1.0), (0.0, 0.4)) + arc(radius, 0.4 + rise, radius, rise, 180, rng.uniform(280, 330), 8)
    ]


def _small_t(rng):
    """A t: a stem that may end in a hook to the right, crossed at 0.2 to 0.4 of its height by a bar
    as long as it likes."""
    cross, left, right = rng.uniform(0.2, 0.4), rng.uniform(0.08, 0.25), rng.uniform(0.12, 0.3)
    stem = _poly((0.2, 0.0), (0.2, 0.85)) + arc(0.35, 0.85, 0.15, 0.15, 180, 90, 6)
    if rng.random() < 0.4:
        stem = _poly((0.2, 0.0), (0.2, 1.0))
    return [stem, _poly((0.2 - left, cross), (0.2 + right, cross))]


def _small_x(rng):
    """An x: two strokes crossing anywhere from a third to two thirds of their height, as wide as
    0.4 to 0.8 of it."""
    width, meet = rng.uniform(0.4, 0.8), rng.uniform(0.35, 0.65)
    shift = (meet - 0.5) * width
    return [_poly((0.0, 0.0), (width, 1.0)), _poly((width + shift, 0.0), (-shift, 1.0))]


LETTERS = {
    "A": [_poly((0.0, 1.0), (0.3, 0.0), (0.6, 1.0)), _poly((0.12, 0.62), (0.48, 0.62))],
    "B": [
        _poly((0.0, 0.0), (0.0, 1.0)),
        arc(0.12, 0.25, 0.3, 0.25, -90, 90)[:-1] + arc(0.12, 0.75, 0.38, 0.25, -90, 90),
    ],
    "C": _c_shape,
    "E": _capital_e,
    "F": lambda rng: _capital_e(rng, lower_arm=False),
    "H": [_poly((0.0, 0.0), (0.0, 1.0)), _poly((0.6, 0.0), (0.6, 1.0)), _poly((0.0, 0.5), (0.6, 0.5))],
    "K": [_poly((0.0, 0.0), (0.0, 1.0)), _poly((0.55, 0.0), (0.0, 0.55), (0.55, 1.0))],
    "L": _l_shape,  # drawn more often than the others (WEIGHTS)
    "M": [_poly((0.0, 1.0), (0.0, 0.0), (0.35, 0.6), (0.7, 0.0), (0.7, 1.0))],
    "N": [_poly((0.0, 1.0), (0.0, 0.0), (0.6, 1.0), (0.6, 0.0))],
    "P": [_poly((0.0, 1.0), (0.0, 0.0)), arc(0.05, 0.27, 0.45, 0.27, -90, 90, 20)],
    "R": [
        _poly((0.0, 1.0), (0.0, 0.0)),
        arc(0.05, 0.27, 0.45, 0.27, -90, 90, 20),
        _poly((0.15, 0.54), (0.55, 1.0)),
    ],
    "T": _capital_t,
    "U": [_poly((0.0, 0.0), (0.0, 0.65)) + arc(0.3, 0.65, 0.3, 0.35, 180, 0, 16) + _poly((0.6, 0.0))],
    "V": [_poly((0.0, 0.0), (0.3, 1.0), (0.6, 0.0))],
    "W": [_poly((0.0, 0.0), (0.2, 1.0), (0.4, 0.35), (0.6, 1.0), (0.8, 0.0))],
    "X": [_poly((0.0, 0.0), (0.6, 1.0)), _poly((0.6, 0.0), (0.0, 1.0))],
    "Y": _capital_y,
    "e": _small_e,
    "f": [arc(0.45, 0.15, 0.2, 0.15, -10, -180, 10) + _poly((0.25, 1.0)), _poly((0.05, 0.45), (0.5, 0.45))],
    "h": [
        _poly((0.0, 0.0), (0.0, 1.0)),
        _poly((0.0, 0.6)) + arc(0.25, 0.62, 0.25, 0.2, 180, 360, 10) + _poly((0.5, 1.0)),
    ],
    "k": [_poly((0.0, 0.0), (0.0, 1.0)), _poly((0.45, 0.4), (0.0, 0.75), (0.45, 1.0))],
    "m": [
        _poly((0.0, 1.0), (0.0, 0.4))
        + arc(0.18, 0.5, 0.18, 0.15, 180, 360, 8)
        + _poly((0.36, 1.0), (0.36, 0.5))
        + arc(0.54, 0.5, 0.18, 0.15, 180, 360, 8)
        + _poly((0.72, 1.0))
    ],
    "n": [_poly((0.0, 1.0), (0.0, 0.4)) + arc(0.25, 0.55, 0.25, 0.2, 180, 360, 10) + _poly((0.5, 1.0))],
    "r": _small_r,
    "t": _small_t,
    "u": [
        _poly((0.0, 0.4), (0.0, 0.8)) + arc(0.25, 0.8, 0.25, 0.2, 180, 0, 10) + _poly((0.5, 0.4), (0.5, 1.0))
    ],
    "v": [_poly((0.0, 0.35), (0.25, 1.0), (0.5, 0.35))],
    "w": [_poly((0.0, 0.35), (0.15, 1.0), (0.33, 0.55), (0.5, 1.0), (0.66, 0.35))],
    "x": _small_x,
    "y": [_poly((0.0, 0.0), (0.3, 0.55)), _poly((0.6, 0.0), (0.15, 1.0))],
    "p": [_poly((0.0, 0.3), (0.0, 1.0)), arc(0.22, 0.5, 0.24, 0.2, 180, -180, 20)],
    "h2": [_poly((0.0, 0.0), (0.0, 1.0), (0.0, 0.55), (0.5, 0.55), (0.5, 1.0))],
}

SHAPES = {
    "triangle": [_poly((0.5, 0.0), (1.0, 0.9), (0.0, 0.9), (0.5, 0.0))],
    "square": [_poly((0.0, 0.0), (0.9, 0.0), (0.9, 0.9), (0.0, 0.9), (0.0, 0.0))],
    "rectangle": [_poly((0.0, 0.2), (1.2, 0.2), (1.2, 0.8), (0.0, 0.8), (0.0, 0.2))],
    "diamond": [_poly((0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5), (0.5, 0.0))],
    "star": [_star()],
    "pentagram": [_pentagram()],
    "heart": [_heart()],
    "arrow": [_poly((0.0, 0.5), (1.0, 0.5)), _poly((0.7, 0.25), (1.0, 0.5), (0.7, 0.75))],
    "up-arrow": [_poly((0.5, 1.0), (0.5, 0.0)), _poly((0.2, 0.3), (0.5, 0.0), (0.8, 0.3))],
    "house": [_poly((0.0, 0.4), (0.5, 0.0), (1.0, 0.4), (1.0, 1.0), (0.0, 1.0), (0.0, 0.4), (1.0, 0.4))],
    "spiral": [_spiral()],
    "wave": [_wave()],
    "zigzag": [_zigzag()],
    "smiley": [
        arc(0.5, 0.5, 0.5, 0.5, 0, 360, 36),
        _poly((0.33, 0.35), (0.34, 0.38)),
        _poly((0.66, 0.35), (0.67, 0.38)),
        arc(0.5, 0.55, 0.25, 0.2, 20, 160, 10),
    ],
    "check": [_poly((0.0, 0.55), (0.3, 0.9), (1.0, 0.0))],
    "crescent": [arc(0.5, 0.5, 0.5, 0.5, 60, 300, 20) + arc(0.75, 0.5, 0.4, 0.45, 240, 120, 16)],
    "tick-box": [
        _poly((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)),
        _poly((0.2, 0.5), (0.45, 0.8), (0.85, 0.15)),
    ],
}

SYMBOLS = {
    "plus": [_poly((0.5, 0.0), (0.5, 1.0)), _poly((0.0, 0.5), (1.0, 0.5))],
    "times": [_poly((0.0, 0.0), (1.0, 1.0)), _poly((1.0, 0.0), (0.0, 1.0))],
    "equals": [_poly((0.0, 0.3), (1.0, 0.3)), _poly((0.0, 0.7), (1.0, 0.7))],
    "hash": [
        _poly((0.35, 0.0), (0.25, 1.0)),
        _poly((0.75, 0.0), (0.65, 1.0)),
        _poly((0.0, 0.33), (1.0, 0.33)),
        _poly((0.0, 0.67), (1.0, 0.67)),
    ],
    "percent": [
        _poly((0.85, 0.0), (0.15, 1.0)),
        arc(0.2, 0.18, 0.16, 0.16, 0, 360, 14),
        arc(0.8, 0.82, 0.16, 0.16, 0, 360, 14),
    ],
    "ampersand": [
        _poly((0.9, 1.0), (0.2, 0.35))
        + arc(0.35, 0.2, 0.18, 0.18, 150, 390, 12)
        + _poly((0.15, 0.7))
        + arc(0.35, 0.78, 0.2, 0.2, 180, 45, 10)
        + _poly((0.85, 0.5))
    ],
    "at": [
        arc(0.5, 0.5, 0.18, 0.2, 0, 360, 16) + _poly((0.68, 0.7)) + arc(0.5, 0.5, 0.45, 0.45, 30, -300, 30)
    ],
    "question": [
        arc(0.3, 0.25, 0.28, 0.25, 200, 420, 14) + _poly((0.3, 0.72)),
        _poly((0.3, 0.93), (0.31, 0.96)),
    ],
    "exclamation-wide": [_poly((0.0, 0.0), (0.3, 0.72), (0.6, 0.0)), _poly((0.3, 0.93), (0.31, 0.96))],
    "asterisk": [
        _poly((0.5, 0.0), (0.5, 1.0)),
        _poly((0.07, 0.25), (0.93, 0.75)),
        _poly((0.93, 0.25), (0.07, 0.75)),
    ],
    "tilde": [_wave(periods=1.0, amplitude=0.12)],
    "less": [_poly((1.0, 0.0), (0.0, 0.5), (1.0, 1.0))],
    "greater": [_poly((0.0, 0.0), (1.0, 0.5), (0.0, 1.0))],
    "caret": [_poly((0.0, 1.0), (0.5, 0.0), (1.0, 1.0))],
    "braces": [
        arc(0.3, 0.25, 0.3, 0.25, 270, 180, 8)
        + arc(0.0, 0.5, 0.3, 0.25, 0, 90, 6)[::-1][:1]
        + arc(0.3, 0.75, 0.3, 0.25, 180, 90, 8)
    ],
    "euro": [
        arc(0.6, 0.5, 0.45, 0.5, -50, -310, 24),
        _poly((0.0, 0.4), (0.6, 0.4)),
        _poly((0.0, 0.6), (0.6, 0.6)),
    ],
    "pound-sign": [
        arc(0.45, 0.2, 0.2, 0.2, 0, -180, 10) + _poly((0.25, 0.95), (0.0, 1.0), (0.7, 1.0)),
        _poly((0.0, 0.55), (0.5, 0.55)),
    ],
}


def _scribble(rng):
    """A random squiggle: a smooth walk that turns a lot (one stroke)."""
    points, heading, position = [], rng.uniform(0, 2 * math.pi), np.array([0.5, 0.5])
    for _ in range(rng.integers(25, 70)):
        heading += rng.normal(0, 0.9)
        position = np.clip(position + 0.08 * np.array([math.cos(heading), math.sin(heading)]), 0, 1)
        points.append(tuple(position))
    return [points]


def _hatching(rng):
    """Several parallel strokes, as when shading."""
    count, angle = rng.integers(3, 7), rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    return [
        [tuple(0.5 + normal * offset - direction * 0.45), tuple(0.5 + normal * offset + direction * 0.45)]
        for offset in np.linspace(-0.4, 0.4, count)
    ]


def _dots(rng):
    """A handful of short dabs scattered over the box."""
    return [
        [tuple(p), tuple(p + rng.normal(0, 0.02, 2))] for p in rng.uniform(0, 1, (rng.integers(4, 12), 2))
    ]


def _blob(rng):
    """A filled-in patch: a tight back-and-forth stroke."""
    rows = rng.integers(6, 12)
    return [
        [
            (x, y)
            for index, y in enumerate(np.linspace(0.2, 0.8, rows))
            for x in ((0.2, 0.8) if index % 2 else (0.8, 0.2))
        ]
    ]


def _loops(rng):
    """A row of loops, as when testing a pen (cursive e's)."""
    count = rng.integers(3, 6)
    points = []
    for t in np.linspace(0, count * 2 * math.pi, count * 16):
        points.append((0.1 * t / math.pi + 0.15 * math.cos(t + math.pi), 0.5 + 0.3 * math.sin(t + math.pi)))
    return [points]


def _letter_pair(rng):
    """Two letters side by side, as when someone writes a word (or initials) on the pad."""
    names = sorted(LETTERS)
    first, second = (nondigit_strokes("letter", names[rng.integers(len(names))], rng) for _ in range(2))
    shift = max(x for stroke in first for x, _ in stroke) + rng.uniform(0.1, 0.3)
    return [list(stroke) for stroke in first] + [[(x + shift, y) for x, y in stroke] for stroke in second]


def _polygon(rng):
    """A closed polygon of 3 to 5 corners spread round a circle (angular, never round, never a
    sliver that could pass for a bar)."""
    corners = int(rng.integers(3, 6))
    spacing = 2 * math.pi / corners
    angles = rng.uniform(0, 2 * math.pi) + spacing * (np.arange(corners) + rng.uniform(-0.25, 0.25, corners))
    points = [(0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a)) for a in angles]
    return [points + points[:1]]


def _boxed_grid(rng):
    """A box divided by inner lines (a window, a table, a tic-tac-toe board in a frame)."""
    lines = int(rng.integers(1, 3))
    strokes = [_poly((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))]
    for offset in np.linspace(0, 1, lines + 2)[1:-1]:
        strokes += [_poly((offset, 0.0), (offset, 1.0)), _poly((0.0, offset), (1.0, offset))]
    return strokes


SCRIBBLES = {
    "scribble": _scribble, "hatching": _hatching, "dots": _dots, "blob": _blob, "loops": _loops,
    "letter-pair": _letter_pair, "polygon": _polygon, "boxed-grid": _boxed_grid,
}  # fmt: skip

# Letters of other alphabets, from the Hershey vector fonts: the shapes of real type, in kinds no
# Latin alphabet has (the proxies' letters are Latin). Left out: letters a reader could take for a
# digit (small Greek theta, zeta, sigma, delta, epsilon, xi; Cyrillic Б, б, З, з, Ч, ч, Э, э, Ь,
# ь, Ъ, ъ) and those that look like a Latin letter or a symbol the proxies draw (A, B, E, H, K, M,
# N, O, P, T, X, Y, Lambda like ^, ...).
ALPHABETS = {
    "greek-capital": ("greek", "DFGPSWXY"),  # Δ Φ Γ Π Σ Ω Ξ Ψ
    "greek-small": ("greek", "flmpy"),  # φ λ μ π ψ
    "cyrillic-capital": ("cyrillic", "DEFGHLQUW^$"),  # Д И Ф Г Ж Л Ш Ю Щ Я Ы
    "cyrillic-small": ("cyrillic", "%&defghilquw"),  # ц ы д й ф г ж и л ш ю щ
}


def _alphabet_letter(font, keys):
    def letter(rng):
        from handdigit.data.hershey import unit_glyph

        return unit_glyph(keys[rng.integers(len(keys))], font)

    return letter


PARTIALS = {
    "4-first-stroke-open": [_poly((0.38, 0.0), (0.0, 0.65), (0.62, 0.65))],
    "4-first-stroke-closed": [_poly((0.46, 0.0), (0.0, 0.66), (0.62, 0.66))],
}


def _digit(rng, digit=None):
    """The unit strokes of one digit in a random style (of `digit`, or of any digit but 1: two
    1s touching make one thick stroke)."""
    styles = STYLES[int(rng.integers(2, 11)) % 10 if digit is None else digit]
    names = sorted(styles)
    return styles[names[rng.integers(len(names))]]


def _side_by_side(digits, rng, gaps):
    """Digits' unit strokes written on one line, left to right: each a little larger or smaller
    and higher or lower than the last, the gaps between their ink (a share of the height, negative
    where they touch) drawn from `gaps`."""
    strokes, right = [], 0.0
    for number, digit in enumerate(digits):
        size, lift = rng.uniform(0.85, 1.15), rng.uniform(-0.08, 0.08)
        placed = [np.asarray(stroke, np.float64) * size + (0.0, 1.0 - size + lift) for stroke in digit]
        left = min(stroke[:, 0].min() for stroke in placed)
        shift = 0.0 if number == 0 else right + rng.uniform(*gaps) - left
        strokes += [[(x + shift, y) for x, y in stroke] for stroke in placed]
        right = max(x for stroke in strokes for x, _ in stroke)
    return strokes


def _digits(count, gaps):
    def number(rng):
        return _side_by_side([_digit(rng) for _ in range(count)], rng, gaps)

    return number


def _one_beside_a_digit(rng):
    """A 1 and another digit, either way round, close or touching (what a 1 is read together
    with most often)."""
    pair = [_digit(rng, 1), _digit(rng)]
    return _side_by_side(pair if rng.random() < 0.5 else pair[::-1], rng, (-0.08, 0.2))


NUMBERS = {
    "two-digits": _digits(2, (0.05, 0.4)),
    "two-digits-touching": _digits(2, (-0.12, 0.02)),
    "one-beside-a-digit": _one_beside_a_digit,
    "three-digits": _digits(3, (-0.05, 0.3)),
}

ALPHABET_LETTERS = {kind: _alphabet_letter(font, keys) for kind, (font, keys) in ALPHABETS.items()}

GROUPS = {
    "letter": LETTERS,
    "alphabet": ALPHABET_LETTERS,
    "shape": SHAPES,
    "symbol": SYMBOLS,
    "scribble": SCRIBBLES,
    "partial": PARTIALS,
    "number": NUMBERS,
}


# How many times as often as other kinds a kind is drawn (1 unless given here).
WEIGHTS = {"L": 8, "C": 3}


def kind_names():
    """[(group, kind)] of every kind of non-digit drawing."""
    return [(group, kind) for group, kinds in GROUPS.items() for kind in kinds]


def random_kind(rng):
    """A (group, kind) drawn at random, each kind as often as its weight (WEIGHTS) says."""
    names = kind_names()
    weights = np.array([WEIGHTS.get(kind, 1) for _, kind in names], np.float64)
    return names[rng.choice(len(names), p=weights / weights.sum())]


def nondigit_strokes(group, kind, rng):
    """The unit-box strokes of one kind (scribbles and other alphabets' letters are drawn afresh from
    `rng` each time)."""
    source = GROUPS[group][kind]
    return source(rng) if callable(source) else source
