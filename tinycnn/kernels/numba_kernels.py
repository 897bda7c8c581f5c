"""The hot loops of the library as Numba-compiled kernels (NHWC, float32 or float64).

Every kernel writes into an output array that the caller provides, so that the caller decides
which buffers are reused (see `tinycnn.kernels.workspace`). The loops mirror the NumPy twins in
`numpy_kernels.py` one for one; `tinycnn.reference` holds the plain-loop teaching versions.

Geometry shared by all kernels: an input image is `(H, W, C)`; a window of `(KH, KW)` slides with
strides `(SH, SW)` over it, after `pad_top` rows and `pad_left` columns of zeros are (virtually)
added. Output position `(oh, ow)` reads input rows `oh * SH - pad_top + kh` for `kh < KH`, and
likewise for columns; positions that fall outside the image read zero. No padded copy is made.

Parallelism: `prange` over images (or image rows) only where each iteration writes its own part
of the output, so no two threads ever write the same element. Each kernel also has a serial twin
(`im2col_serial`, ...), the same loops compiled without threads, for work so small (one image, a
bias vector) that waking the thread pool would cost more than the loop itself, and for chunk
workers (tinycnn.workers), where each core runs its own chunk's kernels.
"""

import os
import types

import numba
import numpy as np
from numba import njit, prange

from tinycnn.kernels import KERNELS

# OpenMP worker threads spin after a parallel region and steal the two cores from OpenBLAS's GEMM
# that follows (a 3x3 convolution's forward took 37 ms instead of 25 ms here); Numba's own
# workqueue layer sleeps instead. It is not thread-safe, which tinycnn.kernels' lock covers.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


@njit(cache=True, parallel=True)
def im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols):
    """Unfold every receptive field of `x` into a row of `cols`.

    x: (N, H, W, C). cols: (N * out_h * out_w, kernel_h * kernel_w * C), filled in place.
    Row `(n * out_h + oh) * out_w + ow` holds the window at `(oh, ow)` of image `n`, ordered
    `(kh, kw, c)`, the order of a `(KH, KW, C_in, C_out)` kernel reshaped to a matrix.
    """
    n_images, height, width, channels = x.shape
    # A window's row of kernel_w pixels is kernel_w * C contiguous floats in NHWC, and so is its
    # place in `cols`: windows that lie inside the image copy whole rows (one vectorised loop).
    pixel_rows = x.reshape(n_images, height, width * channels)
    span = kernel_w * channels
    for task in prange(n_images * out_h):
        n = task // out_h
        oh = task % out_h
        for ow in range(out_w):
            row = (n * out_h + oh) * out_w + ow
            left = ow * stride_w - pad_left
            inside_w = left >= 0 and left + kernel_w <= width
            for kh in range(kernel_h):
                ih = oh * stride_h - pad_top + kh
                if inside_w and 0 <= ih < height:
                    first, start = left * channels, kh * span
                    for k in range(span):
                        cols[row, start + k] = pixel_rows[n, ih, first + k]
                    continue
                for kw in range(kernel_w):
                    iw = left + kw
                    start = (kh * kernel_w + kw) * channels
                    if 0 <= ih < height and 0 <= iw < width:
                        for c in range(channels):
                            cols[row, start + c] = x[n, ih, iw, c]
                    else:
                        for c in range(channels):
                            cols[row, start + c] = 0.0


@njit(cache=True, parallel=True)
def col2im(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx):
    """Fold rows of `cols` back onto the image, summing where windows overlap (im2col's adjoint).

    cols: (N * out_h * out_w, kernel_h * kernel_w * C). dx: (N, H, W, C), overwritten.
    One image per parallel task: each task owns its image of `dx`, so there is no race.
    """
    n_images, height, width, channels = dx.shape
    for n in prange(n_images):
        dx[n] = 0.0
        for oh in range(out_h):
            for ow in range(out_w):
                row = (n * out_h + oh) * out_w + ow
                for kh in range(kernel_h):
                    ih = oh * stride_h - pad_top + kh
                    if ih < 0 or ih >= height:
                        continue
                    for kw in range(kernel_w):
                        iw = ow * stride_w - pad_left + kw
                        if iw < 0 or iw >= width:
                            continue
                        start = (kh * kernel_w + kw) * channels
                        for c in range(channels):
                            dx[n, ih, iw, c] += cols[row, start + c]


@njit(cache=True, parallel=True)
def maxpool_forward(x, pool_h, pool_w, stride_h, stride_w, out, argmax):
    """Max over each `(pool_h, pool_w)` window, and where in the window it was.

    x: (N, H, W, C). out: (N, OH, OW, C) and argmax: (N, OH, OW, C) int32, filled in place.
    argmax holds `ph * pool_w + pw`; on ties the first position in row-major order wins.
    """
    n_images, out_h, out_w, channels = out.shape
    for task in prange(n_images * out_h):
        n = task // out_h
        oh = task % out_h
        for ow in range(out_w):
            top, left = oh * stride_h, ow * stride_w
            # Channels innermost: contiguous in NHWC, so the compare-and-select vectorises.
            for c in range(channels):
                out[n, oh, ow, c] = x[n, top, left, c]
                argmax[n, oh, ow, c] = 0
            for ph in range(pool_h):
                for pw in range(pool_w):
                    index = ph * pool_w + pw
                    for c in range(channels):
                        value = x[n, top + ph, left + pw, c]
                        if value > out[n, oh, ow, c]:
                            out[n, oh, ow, c] = value
                            argmax[n, oh, ow, c] = index


@njit(cache=True, parallel=True)
def maxpool_backward(dy, argmax, pool_h, pool_w, stride_h, stride_w, dx):
    """Route each output gradient to the input position that won its window.

    dy, argmax: (N, OH, OW, C). dx: (N, H, W, C), overwritten; overlapping windows add up.
    One image per parallel task, so no two tasks write the same element.
    When windows tile the image (stride == pool, the usual case), every covered element is written
    exactly once, the gradient or zero, so dx needs no separate zeroing pass.
    """
    n_images, out_h, out_w, channels = dy.shape
    _, height, width, _ = dx.shape
    tiled = stride_h == pool_h and stride_w == pool_w
    for n in prange(n_images):
        if tiled:
            for oh in range(out_h):
                for ph in range(pool_h):
                    ih = oh * pool_h + ph
                    for ow in range(out_w):
                        for pw in range(pool_w):
                            iw = ow * pool_w + pw
                            index = ph * pool_w + pw
                            for c in range(channels):
                                if argmax[n, oh, ow, c] == index:
                                    dx[n, ih, iw, c] = dy[n, oh, ow, c]
                                else:
                                    dx[n, ih, iw, c] = 0.0
                    dx[n, ih, out_w * pool_w :] = 0.0  # columns no window covers (floored sizes)
            dx[n, out_h * pool_h :] = 0.0  # rows no window covers
            continue
        dx[n] = 0.0
        for oh in range(out_h):
            for ow in range(out_w):
                for c in range(channels):
                    index = argmax[n, oh, ow, c]
                    ih = oh * stride_h + index // pool_w
                    iw = ow * stride_w + index % pool_w
                    dx[n, ih, iw, c] += dy[n, oh, ow, c]


@njit(cache=True, parallel=True)
def relu_forward(x, out):
    """out = max(x, 0) elementwise (NaN stays NaN); x and out C-contiguous, one shape."""
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for i in prange(flat_x.size):
        value = flat_x[i]
        flat_out[i] = 0.0 if value <= 0.0 else value


@njit(cache=True, parallel=True)
def bias_relu_forward(x, bias, out):
    """out = max(x + bias, 0), the bias added along the last axis: a convolution's bias and the
    ReLU after it in one pass over memory. x and out: (rows, C) C-contiguous; bias: (C,)."""
    rows, channels = x.shape
    for row in prange(rows):
        for c in range(channels):
            value = x[row, c] + bias[c]
            out[row, c] = 0.0 if value <= 0.0 else value


@njit(cache=True, parallel=True)
def relu_backward(y, dy, dx):
    """dx = dy where the forward's output y > 0, else 0; all C-contiguous, one shape."""
    flat_y, flat_dy, flat_dx = y.reshape(-1), dy.reshape(-1), dx.reshape(-1)
    for i in prange(flat_y.size):
        flat_dx[i] = flat_dy[i] if flat_y[i] > 0.0 else 0.0


@njit(cache=True, parallel=True)
def dropout_apply(values, draws, threshold, scale, out):
    """out = values * scale where draws >= threshold, else 0 (inverted dropout, one pass).
    values, out: one shape, C-contiguous; draws: uint16 of that shape; scale in out's dtype."""
    flat_values, flat_draws, flat_out = values.reshape(-1), draws.reshape(-1), out.reshape(-1)
    zero = out.dtype.type(0)
    for i in prange(flat_values.size):
        flat_out[i] = flat_values[i] * scale if flat_draws[i] >= threshold else zero


@njit(cache=True, parallel=True)
def adam_update(param, gradient, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """One Adam step in a single pass over memory (Keras' form; see tinycnn.optimizers).

    All arrays of one shape, C-contiguous, updated in place. The scalars come in the arrays' dtype,
    with 1 - beta precomputed: an integer literal here would promote float32 arithmetic to float64.
    """
    flat_param, flat_gradient = param.reshape(-1), gradient.reshape(-1)
    flat_m, flat_v = m.reshape(-1), v.reshape(-1)
    for i in prange(flat_param.size):
        g = flat_gradient[i]
        m_i = flat_m[i] + one_minus_beta_1 * (g - flat_m[i])
        v_i = flat_v[i] + one_minus_beta_2 * (g * g - flat_v[i])
        flat_m[i] = m_i
        flat_v[i] = v_i
        flat_param[i] -= (alpha * m_i) / (np.sqrt(v_i) + epsilon)


# --- Winograd F(4x4, 3x3) (see tinycnn.winograd for the maths) -------------------------------
# The 1-D transforms, written out: each is applied along rows, then along columns, of a tile.
# Channels are the innermost loop everywhere (contiguous in NHWC), so the arithmetic vectorises.
# The small integer factors come in as `k` = (2, 4, 5, 8) in the arrays' dtype: an integer literal
# would promote float32 arithmetic to float64.


@njit(cache=True, inline="always")
def _factors(array):
    """(2, 4, 5, 8) in array's dtype."""
    kind = array.dtype.type
    return kind(2), kind(4), kind(5), kind(8)


@njit(cache=True, inline="always")
def _b_transpose(d0, d1, d2, d3, d4, d5, k):
    """B^T d: a 6-vector of inputs to the transformed space."""
    two, four, five, _ = k
    return (
        four * d0 - five * d2 + d4,
        -four * d1 - four * d2 + d3 + d4,
        four * d1 - four * d2 - d3 + d4,
        -two * d1 - d2 + two * d3 + d4,
        two * d1 - d2 - two * d3 + d4,
        four * d1 - five * d3 + d5,
    )


@njit(cache=True, inline="always")
def _a_transpose(m0, m1, m2, m3, m4, m5, k):
    """A^T m: 6 transformed values back to 4 outputs."""
    two, four, _, eight = k
    s12, d12, s34, d34 = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return m0 + s12 + s34, d12 + two * d34, s12 + four * s34, d12 + eight * d34 + m5


@njit(cache=True, inline="always")
def _a(g0, g1, g2, g3, k):
    """A g: 4 output gradients to the transformed space (the adjoint of A^T)."""
    two, four, _, eight = k
    even, odd = g0 + g2, g1 + g3
    even_4, odd_8 = g0 + four * g2, two * g1 + eight * g3
    return g0, even + odd, even - odd, even_4 + odd_8, even_4 - odd_8, g3


@njit(cache=True, inline="always")
def _b(v0, v1, v2, v3, v4, v5, k):
    """B v: 6 transformed gradients back to the 6 inputs of a tile (the adjoint of B^T)."""
    two, four, five, _ = k
    return (
        four * v0,
        -four * v1 + four * v2 - two * v3 + two * v4 + four * v5,
        -five * v0 - four * v1 - four * v2 - v3 - v4,
        v1 - v2 + two * v3 - two * v4 - five * v5,
        v0 + v1 + v2 + v3 + v4,
        v5,
    )


@njit(cache=True, parallel=True)
def winograd_input_transform(x, tiles_h, tiles_w, transformed, first_tile):
    """V = B^T d B for every 6x6 input tile d (stride 4) of every image, every channel.

    x: (N, 4*TH + 2, 4*TW + 2, C) (already padded). transformed: (36, T, C); image n's tiles go
    to first_tile + (n*TH + th)*TW + tw, so a chunk of images fills its part of a whole batch's
    array. Position p = 6*i + j.
    """
    n_images, channels = x.shape[0], x.shape[3]
    k = _factors(x)
    for task in prange(n_images * tiles_h):
        n, th = task // tiles_h, task % tiles_h
        rows = np.empty((6, 6, channels), x.dtype)  # B^T d: columns still untransformed
        top = 4 * th
        for tw in range(tiles_w):
            tile, left = first_tile + (n * tiles_h + th) * tiles_w + tw, 4 * tw
            for j in range(6):
                for c in range(channels):
                    (
                        rows[0, j, c],
                        rows[1, j, c],
                        rows[2, j, c],
                        rows[3, j, c],
                        rows[4, j, c],
                        rows[5, j, c],
                    ) = _b_transpose(
                        x[n, top, left + j, c],
                        x[n, top + 1, left + j, c],
                        x[n, top + 2, left + j, c],
                        x[n, top + 3, left + j, c],
                        x[n, top + 4, left + j, c],
                        x[n, top + 5, left + j, c],
                        k,
                    )
            for i in range(6):
                for c in range(channels):
                    (
                        transformed[6 * i + 0, tile, c],
                        transformed[6 * i + 1, tile, c],
                        transformed[6 * i + 2, tile, c],
                        transformed[6 * i + 3, tile, c],
                        transformed[6 * i + 4, tile, c],
                        transformed[6 * i + 5, tile, c],
                    ) = _b_transpose(
                        rows[i, 0, c],
                        rows[i, 1, c],
                        rows[i, 2, c],
                        rows[i, 3, c],
                        rows[i, 4, c],
                        rows[i, 5, c],
                        k,
                    )


@njit(cache=True)
def _output_tile(products, tile, rows, block, k):
    """block (4, 4, C) = A^T M A of one tile of products (36, T, C); rows (4, 6, C) is scratch."""
    for j in range(6):
        for c in range(products.shape[2]):
            rows[0, j, c], rows[1, j, c], rows[2, j, c], rows[3, j, c] = _a_transpose(
                products[j, tile, c],
                products[6 + j, tile, c],
                products[12 + j, tile, c],
                products[18 + j, tile, c],
                products[24 + j, tile, c],
                products[30 + j, tile, c],
                k,
            )
    for i in range(4):
        for c in range(products.shape[2]):
            block[i, 0, c], block[i, 1, c], block[i, 2, c], block[i, 3, c] = _a_transpose(
                rows[i, 0, c], rows[i, 1, c], rows[i, 2, c], rows[i, 3, c], rows[i, 4, c], rows[i, 5, c], k
            )


@njit(cache=True, parallel=True)
def winograd_output_transform(products, tiles_h, tiles_w, y):
    """y_tile = A^T M A for every tile, cropped to the output: M (36, N*TH*TW, C_out) ->
    y (N, OH, OW, C_out), overwritten."""
    n_images, out_h, out_w, channels = y.shape
    k = _factors(y)
    for task in prange(n_images * tiles_h):
        n, th = task // tiles_h, task % tiles_h
        rows = np.empty((4, 6, channels), y.dtype)
        block = np.empty((4, 4, channels), y.dtype)
        top = 4 * th
        for tw in range(tiles_w):
            left = 4 * tw
            _output_tile(products, (n * tiles_h + th) * tiles_w + tw, rows, block, k)
            for i in range(min(4, out_h - top)):  # the last tiles may reach past the output's edge
                for j in range(min(4, out_w - left)):
                    for c in range(channels):
                        y[n, top + i, left + j, c] = block[i, j, c]


@njit(cache=True, parallel=True)
def winograd_output_relu_pool(products, tiles_h, tiles_w, bias, pooled, argmax):
    """Output transform, bias, ReLU and a 2x2 max-pool with stride 2 in one pass: a 4x4 tile of
    outputs is exactly four pooling windows, so the activations never leave the CPU's registers
    and cache. products (36, N*TH*TW, C_out), bias (C_out,); pooled and argmax (N, PH, PW,
    C_out), filled as `bias_relu_forward` then `maxpool_forward` would (ties: the first position
    in row-major order wins; PH = floor(OH / 2) drops a last odd row, as the pool does)."""
    n_images, pooled_h, pooled_w, channels = pooled.shape
    k, zero = _factors(pooled), pooled.dtype.type(0)
    for task in prange(n_images * tiles_h):
        n, th = task // tiles_h, task % tiles_h
        rows = np.empty((4, 6, channels), pooled.dtype)
        block = np.empty((4, 4, channels), pooled.dtype)
        for tw in range(tiles_w):
            _output_tile(products, (n * tiles_h + th) * tiles_w + tw, rows, block, k)
            for window_row in range(2):
                ph = 2 * th + window_row
                if ph >= pooled_h:
                    break
                for window_column in range(2):
                    pw = 2 * tw + window_column
                    if pw >= pooled_w:
                        break
                    top, left = 2 * window_row, 2 * window_column
                    for c in range(channels):
                        best, best_index = block[top, left, c] + bias[c], 0
                        best = zero if best <= zero else best
                        for index in range(1, 4):
                            value = block[top + index // 2, left + index % 2, c] + bias[c]
                            value = zero if value <= zero else value
                            if value > best:
                                best, best_index = value, index
                        pooled[n, ph, pw, c] = best
                        argmax[n, ph, pw, c] = best_index


@njit(cache=True)
def _gradient_tile(block, rows, transformed, tile, k):
    """transformed[:, tile] = A g A^T of one 4x4 gradient tile block (4, 4, C); rows (6, 4, C)
    is scratch."""
    for j in range(4):
        for c in range(block.shape[2]):
            rows[0, j, c], rows[1, j, c], rows[2, j, c], rows[3, j, c], rows[4, j, c], rows[5, j, c] = _a(
                block[0, j, c], block[1, j, c], block[2, j, c], block[3, j, c], k
            )
    for i in range(6):
        for c in range(block.shape[2]):
            (
                transformed[6 * i + 0, tile, c],
                transformed[6 * i + 1, tile, c],
                transformed[6 * i + 2, tile, c],
                transformed[6 * i + 3, tile, c],
                transformed[6 * i + 4, tile, c],
                transformed[6 * i + 5, tile, c],
            ) = _a(rows[i, 0, c], rows[i, 1, c], rows[i, 2, c], rows[i, 3, c], k)


@njit(cache=True, parallel=True)
def winograd_gradient_transform(dy, tiles_h, tiles_w, transformed):
    """Z = A g A^T for every 4x4 tile g of the output gradient (zeros past the output's edge):
    dy (N, OH, OW, C_out) -> transformed (36, N*TH*TW, C_out), filled."""
    n_images, out_h, out_w, channels = dy.shape
    k = _factors(dy)
    for task in prange(n_images * tiles_h):
        n, th = task // tiles_h, task % tiles_h
        rows = np.empty((6, 4, channels), dy.dtype)
        block = np.empty((4, 4, channels), dy.dtype)
        top = 4 * th
        for tw in range(tiles_w):
            left = 4 * tw
            for i in range(4):
                for j in range(4):
                    inside = top + i < out_h and left + j < out_w
                    for c in range(channels):
                        block[i, j, c] = dy[n, top + i, left + j, c] if inside else 0.0
            _gradient_tile(block, rows, transformed, (n * tiles_h + th) * tiles_w + tw, k)


@njit(cache=True, parallel=True)
def winograd_pooled_gradient_transform(pooled_gradient, pooled, argmax, tiles_h, tiles_w, transformed):
    """The backward of ReLU and a 2x2 max-pool with stride 2, and the gradient transform, in one
    pass: each 4x4 gradient tile is built from four pooling windows -- a window's gradient at its
    winner if the winner passed the ReLU (pooled > 0), zero elsewhere -- and transformed at once,
    so the full-size gradient is never written. pooled_gradient, pooled, argmax: (N, PH, PW, C_out)
    -> transformed (36, N*TH*TW, C_out), filled. Rows and columns no window covers (a floored odd
    size) get zero, as in maxpool_backward."""
    n_images, pooled_h, pooled_w, channels = pooled_gradient.shape
    k, zero = _factors(pooled_gradient), pooled_gradient.dtype.type(0)
    for task in prange(n_images * tiles_h):
        n, th = task // tiles_h, task % tiles_h
        rows = np.empty((6, 4, channels), pooled_gradient.dtype)
        block = np.empty((4, 4, channels), pooled_gradient.dtype)
        for tw in range(tiles_w):
            for i in range(4):
                ph = 2 * th + i // 2
                for j in range(4):
                    pw = 2 * tw + j // 2
                    index = (i % 2) * 2 + j % 2
                    if ph < pooled_h and pw < pooled_w:
                        for c in range(channels):  # loads and a select, no branch: vectorises
                            won = (argmax[n, ph, pw, c] == index) & (pooled[n, ph, pw, c] > zero)
                            value = pooled_gradient[n, ph, pw, c]
                            block[i, j, c] = value if won else zero
                    else:
                        for c in range(channels):
                            block[i, j, c] = zero
            _gradient_tile(block, rows, transformed, (n * tiles_h + th) * tiles_w + tw, k)


@njit(cache=True, parallel=True)
def winograd_input_gradient(transformed, tiles_h, tiles_w, dx):
    """dx = the sum over tiles of B dV B^T placed at each tile (tiles overlap by 2 rows/columns):
    transformed (36, N*TH*TW, C) -> dx (N, 4*TH + 2, 4*TW + 2, C), overwritten.
    One image per parallel task: each task owns its image of dx, so there is no race."""
    n_images, channels = dx.shape[0], dx.shape[3]
    k = _factors(dx)
    for n in prange(n_images):
        dx[n] = 0.0
        rows = np.empty((6, 6, channels), dx.dtype)  # dV B^T: the row transform done
        block = np.empty((6, 6, channels), dx.dtype)  # B dV B^T: one tile's input gradient
        for th in range(tiles_h):
            top = 4 * th
            for tw in range(tiles_w):
                tile, left = (n * tiles_h + th) * tiles_w + tw, 4 * tw
                for i in range(6):
                    for c in range(channels):
                        (
                            rows[i, 0, c],
                            rows[i, 1, c],
                            rows[i, 2, c],
                            rows[i, 3, c],
                            rows[i, 4, c],
                            rows[i, 5, c],
                        ) = _b(
                            transformed[6 * i, tile, c],
                            transformed[6 * i + 1, tile, c],
                            transformed[6 * i + 2, tile, c],
                            transformed[6 * i + 3, tile, c],
                            transformed[6 * i + 4, tile, c],
                            transformed[6 * i + 5, tile, c],
                            k,
                        )
                for j in range(6):
                    for c in range(channels):
                        (
                            block[0, j, c],
                            block[1, j, c],
                            block[2, j, c],
                            block[3, j, c],
                            block[4, j, c],
                            block[5, j, c],
                        ) = _b(
                            rows[0, j, c],
                            rows[1, j, c],
                            rows[2, j, c],
                            rows[3, j, c],
                            rows[4, j, c],
                            rows[5, j, c],
                            k,
                        )
                for i in range(6):
                    for j in range(6):
                        for c in range(channels):
                            dx[n, top + i, left + j, c] += block[i, j, c]


def _serial_twin(kernel):
    """The kernel's loops compiled without threads (`prange` runs as `range`), cached apart, and
    without the GIL: tinycnn.workers runs one in each core's thread at once."""
    source = kernel.py_func
    twin = types.FunctionType(source.__code__, source.__globals__, f"{source.__name__}_serial")
    twin.__qualname__ = f"{source.__qualname__}_serial"  # Numba names its cache files after it
    twin.__doc__ = f"`{source.__name__}` without threads, for small work."
    return njit(cache=True, nogil=True)(twin)


for _name in KERNELS:
    globals()[f"{_name}_serial"] = _serial_twin(globals()[_name])


def warmup(names=KERNELS):
    """Compile (or load from Numba's cache) the kernels `names` and their serial twins for float32."""
    for suffix in ("", "_serial"):
        _warm({name: globals()[name + suffix] for name in names})


def _warm(kernel):
    """Call each kernel of `kernel` ({name: function}) once on tiny float32 arrays."""

    def call(name, *arguments):
        if name in kernel:
            kernel[name](*arguments)

    x = np.zeros((1, 3, 3, 1), np.float32)
    cols = np.zeros((4, 4), np.float32)
    call("im2col", x, 2, 2, 1, 1, 0, 0, 2, 2, cols)
    call("col2im", cols, 2, 2, 1, 1, 0, 0, 2, 2, x)
    pooled = np.zeros((1, 1, 1, 1), np.float32)
    argmax = np.zeros((1, 1, 1, 1), np.int32)
    call("maxpool_forward", x, 2, 2, 2, 2, pooled, argmax)
    call("maxpool_backward", pooled, argmax, 2, 2, 2, 2, x)
    one = np.float32(1)
    call("adam_update", cols, cols, cols.copy(), cols.copy(), one, one, one, one)
    call("relu_forward", cols, cols.copy())
    call("bias_relu_forward", cols, cols[0].copy(), cols.copy())
    call("relu_backward", cols, cols, cols.copy())
    call("dropout_apply", cols, np.zeros(cols.shape, np.uint16), 1, one, cols.copy())
    image = np.zeros((1, 6, 6, 1), np.float32)
    transformed = np.zeros((36, 1, 1), np.float32)
    call("winograd_input_transform", image, 1, 1, transformed, 0)
    call("winograd_output_transform", transformed, 1, 1, pooled)
    call("winograd_gradient_transform", pooled, 1, 1, transformed)
    call("winograd_input_gradient", transformed, 1, 1, image)
    call("winograd_output_relu_pool", transformed, 1, 1, cols[0, :1].copy(), pooled, argmax)
    call("winograd_pooled_gradient_transform", pooled, pooled, argmax, 1, 1, transformed)
