"""How a check says what is wrong: a comparison of the learner's result with the reference that
names the shape, the scale, the sign or the entries that differ, never the expected values.

    compare("dx", got, expected)      # raises Wrong("dx is 4 times what it should be everywhere ...")

The error measure is CS231n's relative error, max |got - expected| / max(1e-8, |got| + |expected|),
entry by entry: about 1e-7 or less means the formulas agree (float64); 1e-2 means a bug.
"""

import numpy as np

TOLERANCE = 1e-6


class Wrong(AssertionError):
    """The learner's function gave a wrong result; the message says how, in one or two sentences."""


def relative_error(got, expected):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))))


def as_array(label, value, expected):
    """`value` as a float64 array, or Wrong saying what came back instead."""
    if value is None:
        raise Wrong(f"{label}: the function returned None (a missing `return`?)")
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise Wrong(
            f"{label}: expected an array of shape {np.shape(expected)}, got a {type(value).__name__}"
        ) from None
    return array


def compare(label, got, expected, tolerance=TOLERANCE):
    """Wrong with a diagnosis unless `got` equals `expected` within `tolerance` (relative error)."""
    expected = np.asarray(expected, np.float64)
    got = as_array(label, got, expected)
    if got.shape != expected.shape:
        hint = " (the transpose of the right shape?)" if got.shape == expected.shape[::-1] else ""
        raise Wrong(f"{label} has shape {got.shape}; it should have shape {expected.shape}{hint}")
    if not np.all(np.isfinite(got)):
        bad = int(np.sum(~np.isfinite(got)))
        raise Wrong(f"{label} has {bad} NaN or infinite entries of {got.size}")
    error = relative_error(got, expected)
    if error <= tolerance:
        return error
    raise Wrong(f"{label} {diagnosis(got, expected)} (relative error {error:.1e})")


def diagnosis(got, expected):
    """What is wrong with `got`, in words: sign, scale, zeros, or which entries."""
    scale = float(np.max(np.abs(expected)))
    if scale > 0 and np.allclose(got, -expected, rtol=1e-6, atol=1e-9 * scale):
        return "has the right size but the opposite sign everywhere"
    energy = float(np.sum(expected * expected))
    if energy > 0:
        factor = float(np.sum(got * expected) / energy)
        if abs(factor) > 1e-12 and np.allclose(got, factor * expected, rtol=1e-6, atol=1e-9 * scale):
            return f"is {factor:.4g} times what it should be, everywhere: a factor missing or extra"
    wrong = ~np.isclose(got, expected, rtol=1e-6, atol=1e-9 * max(scale, 1e-12))
    zero_but_should_not = int(np.sum(wrong & (got == 0) & (expected != 0)))
    should_be_zero = int(np.sum(wrong & (expected == 0) & (got != 0)))
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    parts = [f"differs at {int(wrong.sum())} of its {got.size} entries (the first at index {first})"]
    if zero_but_should_not:
        parts.append(f"{zero_but_should_not} of them are 0 and should not be")
    if should_be_zero:
        parts.append(f"{should_be_zero} of them should be 0 and are not")
    return "; ".join(parts)
