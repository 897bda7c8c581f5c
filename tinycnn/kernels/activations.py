"""Elementwise kernels: ReLU forward (with a convolution's bias) and backward.

    relu_forward:      out = max(x, 0)                  (NaN stays NaN)
    bias_relu_forward: out = max(x + bias, 0)           bias (C,) along the last axis of x (rows, C):
                       a convolution's bias and the ReLU after it in one pass over memory
    relu_backward:     dx = dy where y > 0, else 0      (y: the forward's output)

All arrays C-contiguous, one shape (but the bias). Loops for Numba and NumPy twins.
"""

import numpy as np

from tinycnn.kernels.loops import prange


def relu_forward_loops(x, out):
    """out = max(x, 0) elementwise."""
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for i in prange(flat_x.size):
        value = flat_x[i]
        flat_out[i] = 0.0 if value <= 0.0 else value


def bias_relu_forward_loops(x, bias, out):
    """out = max(x + bias, 0), x and out (rows, C), bias (C,)."""
    rows, channels = x.shape
    for row in prange(rows):
        for c in range(channels):
            value = x[row, c] + bias[c]
            out[row, c] = 0.0 if value <= 0.0 else value


def relu_backward_loops(y, dy, dx):
    """dx = dy where y > 0, else 0."""
    flat_y, flat_dy, flat_dx = y.reshape(-1), dy.reshape(-1), dx.reshape(-1)
    for i in prange(flat_y.size):
        flat_dx[i] = flat_dy[i] if flat_y[i] > 0.0 else 0.0


def relu_forward_numpy(x, out):
    """The NumPy twin of relu_forward_loops."""
    np.maximum(x, 0, out=out)


def bias_relu_forward_numpy(x, bias, out):
    """The NumPy twin of bias_relu_forward_loops."""
    np.add(x, bias, out=out)
    np.maximum(out, 0, out=out)


def relu_backward_numpy(y, dy, dx):
    """The NumPy twin of relu_backward_loops."""
    np.multiply(dy, y > 0, out=dx)


def relu_forward_example():
    return np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)


def bias_relu_forward_example():
    return np.zeros((4, 4), np.float32), np.zeros(4, np.float32), np.zeros((4, 4), np.float32)


def relu_backward_example():
    return np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)
