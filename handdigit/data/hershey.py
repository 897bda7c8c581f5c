"""Glyphs of the Hershey vector fonts (the Hershey-Fonts package): characters as pen strokes.

Training draws Greek and Cyrillic letters from them (handdigit.data.nondigits); the evaluation
proxies draw digits, Latin letters and symbols from other fonts of the same family
(handdigit.evaluation.proxies), so that no proxy shows training's own glyphs.
"""

import functools

import numpy as np


@functools.cache
def typeface(font):
    """The Hershey font `font` (a name in HersheyFonts().default_font_names), about 100 units high."""
    from HersheyFonts import HersheyFonts

    loaded = HersheyFonts()
    loaded.load_default_font(font)
    loaded.normalize_rendering(100)
    return loaded


def glyph(character, font):
    """`character`'s strokes in the Hershey vector font `font`, as drawn (y down, about 100 units
    high): a list of (K, 2) arrays (x, y)."""
    strokes = [
        np.array(stroke, np.float64) * (1, -1) for stroke in typeface(font).strokes_for_text(character)
    ]
    return [stroke for stroke in strokes if len(stroke)]


def unit_glyph(character, font):
    """`character`'s strokes in `font` in a unit box (x right, y down, height 1, top left at 0), as
    the digit styles and non-digit kinds are given: a list of [(x, y), ...]."""
    strokes = glyph(character, font)
    every = np.concatenate(strokes)
    low = every.min(axis=0)
    height = max(every[:, 1].max() - low[1], 1e-6)
    return [[tuple(point) for point in (stroke - low) / height] for stroke in strokes]
