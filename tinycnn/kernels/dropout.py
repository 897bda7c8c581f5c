"""Inverted dropout in one pass: out = values * scale where draws >= threshold, else 0.

values, out: one shape, C-contiguous; draws: uint16 of that shape (tinycnn.layers.dropout says how
they are drawn); scale in out's dtype. Loops for Numba and a NumPy twin.
"""

import numpy as np

from tinycnn.kernels.loops import prange


def dropout_apply_loops(values, draws, threshold, scale, out):
    """out = values * scale where draws >= threshold, else 0."""
    flat_values, flat_draws, flat_out = values.reshape(-1), draws.reshape(-1), out.reshape(-1)
    zero = out.dtype.type(0)
    for i in prange(flat_values.size):
        flat_out[i] = flat_values[i] * scale if flat_draws[i] >= threshold else zero


def dropout_apply_numpy(values, draws, threshold, scale, out):
    """The NumPy twin of dropout_apply_loops."""
    np.multiply(values, scale, out=out)
    out[draws < threshold] = 0


def dropout_apply_example():
    cols = np.zeros((4, 4), np.float32)
    return cols, np.zeros(cols.shape, np.uint16), 1, np.float32(1), cols.copy()
