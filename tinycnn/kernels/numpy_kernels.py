"""Pure-NumPy twins of the Numba kernels: same signatures, same results.

Used where Numba is absent, under `NUMBA_DISABLE_JIT=1`, or with `TINYCNN_BACKEND=numpy`.
Each loop runs over the few kernel (or pool) offsets only; the work inside is one strided slice
of the whole batch, as in deep-learning-from-scratch's im2col.
"""

import numpy as np

from tinycnn.kernels import KERNELS


def _window_slices(offset_h, offset_w, stride_h, stride_w, out_h, out_w):
    """Rows and columns of the (padded) image that kernel offset (offset_h, offset_w) reads."""
    return (
        slice(offset_h, offset_h + stride_h * (out_h - 1) + 1, stride_h),
        slice(offset_w, offset_w + stride_w * (out_w - 1) + 1, stride_w),
    )


def _padding(height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """Rows/columns of zeros needed below and right so every window fits in the padded image."""
    pad_bottom = max(0, (out_h - 1) * stride_h + kernel_h - height - pad_top)
    pad_right = max(0, (out_w - 1) * stride_w + kernel_w - width - pad_left)
    return pad_bottom, pad_right


def im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols):
    """See `numba_kernels.im2col`."""
    n_images, height, width, channels = x.shape
    pad_bottom, pad_right = _padding(
        height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w
    )
    padded = np.pad(x, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
    windows = cols.reshape(n_images, out_h, out_w, kernel_h, kernel_w, channels)
    for kh in range(kernel_h):
        for kw in range(kernel_w):
            rows, columns = _window_slices(kh, kw, stride_h, stride_w, out_h, out_w)
            windows[:, :, :, kh, kw, :] = padded[:, rows, columns, :]


def col2im(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx):
    """See `numba_kernels.col2im`."""
    n_images, height, width, channels = dx.shape
    pad_bottom, pad_right = _padding(
        height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w
    )
    padded = np.zeros(
        (n_images, pad_top + height + pad_bottom, pad_left + width + pad_right, channels), dx.dtype
    )
    windows = cols.reshape(n_images, out_h, out_w, kernel_h, kernel_w, channels)
    for kh in range(kernel_h):
        for kw in range(kernel_w):
            rows, columns = _window_slices(kh, kw, stride_h, stride_w, out_h, out_w)
            padded[:, rows, columns, :] += windows[:, :, :, kh, kw, :]
    dx[...] = padded[:, pad_top : pad_top + height, pad_left : pad_left + width, :]


def maxpool_forward(x, pool_h, pool_w, stride_h, stride_w, out, argmax):
    """See `numba_kernels.maxpool_forward` (ties: the first position in row-major order)."""
    _, out_h, out_w, _ = out.shape
    out[...] = x[:, : stride_h * (out_h - 1) + 1 : stride_h, : stride_w * (out_w - 1) + 1 : stride_w]
    argmax[...] = 0
    for ph in range(pool_h):
        for pw in range(pool_w):
            rows, columns = _window_slices(ph, pw, stride_h, stride_w, out_h, out_w)
            candidate = x[:, rows, columns, :]
            better = candidate > out
            out[better] = candidate[better]
            argmax[better] = ph * pool_w + pw


def maxpool_backward(dy, argmax, pool_h, pool_w, stride_h, stride_w, dx):
    """See `numba_kernels.maxpool_backward`."""
    _, out_h, out_w, _ = dy.shape
    dx[...] = 0
    for ph in range(pool_h):
        for pw in range(pool_w):
            rows, columns = _window_slices(ph, pw, stride_h, stride_w, out_h, out_w)
            dx[:, rows, columns, :] += np.where(argmax == ph * pool_w + pw, dy, 0)


def adam_update(param, gradient, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """See `numba_kernels.adam_update`."""
    m += one_minus_beta_1 * (gradient - m)
    v += one_minus_beta_2 * (np.square(gradient) - v)
    param -= (alpha * m) / (np.sqrt(v) + epsilon)


def relu_forward(x, out):
    """See `numba_kernels.relu_forward`."""
    np.maximum(x, 0, out=out)


def bias_relu_forward(x, bias, out):
    """See `numba_kernels.bias_relu_forward`."""
    np.add(x, bias, out=out)
    np.maximum(out, 0, out=out)


def relu_backward(y, dy, dx):
    """See `numba_kernels.relu_backward`."""
    np.multiply(dy, y > 0, out=dx)


def warmup():
    """Nothing to compile."""


# The NumPy twins have no threads of their own: the "serial" variants are the same functions.
for _name in KERNELS:
    globals()[f"{_name}_serial"] = globals()[_name]
