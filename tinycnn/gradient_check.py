"""Centred finite differences: the independent check of every backward pass (use float64).

numerical = numerical_gradient(lambda: loss_of(x), x)     # perturbs x in place, restores it
relative_error(numerical, analytic)                        # ~1e-7 or less when backward is right
"""

import numpy as np


def numerical_gradient(function, array, step=1e-5):
    """d function() / d array by centred differences, one element at a time (slow; small arrays).

    `function` takes no arguments and reads `array`, which is perturbed in place and restored.
    """
    gradient = np.zeros_like(array, dtype=np.float64)
    flat, flat_gradient = array.reshape(-1), gradient.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + step
        plus = function()
        flat[index] = original - step
        minus = function()
        flat[index] = original
        flat_gradient[index] = (plus - minus) / (2 * step)
    return gradient


def relative_error(a, b, floor=1e-12):
    """max |a - b| / max(|a| + |b|, floor), elementwise; 0 for equal arrays.

    Centred differences carry noise of about 1e-16 * |loss| / step (2e-11 for a loss near 1 and
    step 1e-5): an entry whose true gradient is 0 can come out as that noise on one side and as
    1e-19 of float rounding on the other. Raise `floor` above the noise (e.g. 1e-4) to compare such
    entries by their absolute difference instead."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor))) if a.size else 0.0
