"""Pure-NumPy twins of the Numba kernels: same signatures, same results.

Used where Numba is absent, under `NUMBA_DISABLE_JIT=1`, or with `TINYCNN_BACKEND=numpy`.
Each loop runs over the few kernel (or pool) offsets only; the work inside is one strided slice
of the whole batch, as in deep-learning-from-scratch's im2col.
"""

import numpy as np

from tinycnn.kernels import KERNELS
from tinycnn.winograd import INPUT_TRANSFORM, OUTPUT_TRANSFORM


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


def _tiles(image, tiles_h, tiles_w, size):
    """View of the (size x size) tiles at stride 4 of image (N, H, W, C): (N, TH, TW, size, size, C)."""
    n_images, _, _, channels = image.shape
    strides = image.strides
    return np.lib.stride_tricks.as_strided(
        image,
        (n_images, tiles_h, tiles_w, size, size, channels),
        (strides[0], 4 * strides[1], 4 * strides[2], strides[1], strides[2], strides[3]),
        writeable=False,
    )


def _positions_first(tiles):
    """(N, TH, TW, 6, 6, C) -> (36, N*TH*TW, C)."""
    n_images, tiles_h, tiles_w, rows, columns, channels = tiles.shape
    moved = np.moveaxis(tiles, (3, 4), (0, 1))
    return moved.reshape(rows * columns, n_images * tiles_h * tiles_w, channels)


def winograd_input_transform(x, tiles_h, tiles_w, transformed, first_tile):
    """See `numba_kernels.winograd_input_transform`."""
    b_t = INPUT_TRANSFORM.astype(x.dtype)
    tiles = _tiles(x, tiles_h, tiles_w, 6)
    values = np.einsum("ik,ntwklc,jl->ntwijc", b_t, tiles, b_t, optimize=True)
    count = values.shape[0] * tiles_h * tiles_w
    transformed[:, first_tile : first_tile + count] = _positions_first(values)


def winograd_output_transform(products, tiles_h, tiles_w, y):
    """See `numba_kernels.winograd_output_transform`."""
    n_images, out_h, out_w, channels = y.shape
    a_t = OUTPUT_TRANSFORM.astype(y.dtype)
    tiles = products.reshape(6, 6, n_images, tiles_h, tiles_w, channels)
    values = np.einsum("ik,klntwc,jl->ntiwjc", a_t, tiles, a_t, optimize=True)
    y[...] = values.reshape(n_images, 4 * tiles_h, 4 * tiles_w, channels)[:, :out_h, :out_w]


def winograd_gradient_transform(dy, tiles_h, tiles_w, transformed):
    """See `numba_kernels.winograd_gradient_transform`."""
    n_images, out_h, out_w, channels = dy.shape
    padded = np.zeros((n_images, 4 * tiles_h, 4 * tiles_w, channels), dy.dtype)
    padded[:, :out_h, :out_w] = dy
    tiles = padded.reshape(n_images, tiles_h, 4, tiles_w, 4, channels)
    a = OUTPUT_TRANSFORM.T.astype(dy.dtype)
    values = np.einsum("ik,nhkwlc,jl->nhwijc", a, tiles, a, optimize=True)
    transformed[...] = _positions_first(values)


def winograd_input_gradient(transformed, tiles_h, tiles_w, dx):
    """See `numba_kernels.winograd_input_gradient`."""
    n_images, _, _, channels = dx.shape
    b = INPUT_TRANSFORM.T.astype(dx.dtype)
    tiles = transformed.reshape(6, 6, n_images, tiles_h, tiles_w, channels)
    values = np.einsum("ik,klnhwc,jl->nhwijc", b, tiles, b, optimize=True)
    dx[...] = 0
    for th in range(tiles_h):  # tiles overlap by two rows and columns: add them one row of tiles at a time
        for tw in range(tiles_w):
            dx[:, 4 * th : 4 * th + 6, 4 * tw : 4 * tw + 6] += values[:, th, tw]


def winograd_output_relu_pool(products, tiles_h, tiles_w, bias, pooled, argmax):
    """See `numba_kernels.winograd_output_relu_pool`."""
    n_images, pooled_h, pooled_w, channels = pooled.shape
    y = np.empty((n_images, 2 * pooled_h, 2 * pooled_w, channels), pooled.dtype)
    full = np.empty((n_images, 4 * tiles_h, 4 * tiles_w, channels), pooled.dtype)
    winograd_output_transform(products, tiles_h, tiles_w, full)
    y[...] = full[:, : 2 * pooled_h, : 2 * pooled_w]
    bias_relu_forward(y.reshape(-1, channels), bias, y.reshape(-1, channels))
    maxpool_forward(y, 2, 2, 2, 2, pooled, argmax)


def winograd_pooled_gradient_transform(pooled_gradient, pooled, argmax, tiles_h, tiles_w, transformed):
    """See `numba_kernels.winograd_pooled_gradient_transform`."""
    n_images, pooled_h, pooled_w, channels = pooled_gradient.shape
    routed = pooled_gradient * (pooled > 0)
    dy = np.empty((n_images, 2 * pooled_h, 2 * pooled_w, channels), routed.dtype)
    maxpool_backward(routed, argmax, 2, 2, 2, 2, dy)
    winograd_gradient_transform(dy, tiles_h, tiles_w, transformed)


def dropout_apply(values, draws, threshold, scale, out):
    """See `numba_kernels.dropout_apply`."""
    np.multiply(values, draws >= threshold, out=out)
    out *= scale


def warmup(names=KERNELS):
    """Nothing to compile."""


# The NumPy twins have no threads of their own: the "serial" variants are the same functions.
for _name in KERNELS:
    globals()[f"{_name}_serial"] = globals()[_name]
