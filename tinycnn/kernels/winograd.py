"""Winograd F(4x4, 3x3)'s transforms, as kernels (tinycnn.winograd has the maths).

    winograd_input_transform:   V = B^T d B of every 6x6 input tile (stride 4)
    winograd_output_transform:  y = A^T M A of every tile, cropped to the output
    winograd_output_relu_pool:  the output transform, bias, ReLU and a 2x2/2 max-pool in one pass
    winograd_gradient_transform: Z = A g A^T of every 4x4 tile of the output gradient
    winograd_pooled_gradient_transform: ReLU and 2x2/2 pool backward, then the gradient transform
    winograd_input_gradient:    dx = the sum of B dV B^T over the overlapping tiles

Shapes (NHWC): x (N, 4*TH + 2, 4*TW + 2, C) padded; transformed tiles (36, N*TH*TW, C) with
tile t = (n*TH + th)*TW + tw and position p = 6*i + j. Loops for Numba and NumPy twins (einsum
over strided tile views).
"""

import numpy as np

from tinycnn.kernels.activations import bias_relu_forward_numpy
from tinycnn.kernels.loops import helper, inline, prange
from tinycnn.kernels.pooling import maxpool_backward_numpy, maxpool_forward_numpy
from tinycnn.winograd import INPUT_TRANSFORM, OUTPUT_TRANSFORM

# --- Winograd F(4x4, 3x3) (see tinycnn.winograd for the maths) -------------------------------
# The 1-D transforms, written out: each is applied along rows, then along columns, of a tile.
# Channels are the innermost loop everywhere (contiguous in NHWC), so the arithmetic vectorises.
# The small integer factors come in as `k` = (2, 4, 5, 8) in the arrays' dtype: an integer literal
# would promote float32 arithmetic to float64.


@inline
def _factors(array):
    """(2, 4, 5, 8) in array's dtype."""
    kind = array.dtype.type
    return kind(2), kind(4), kind(5), kind(8)


@inline
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


@inline
def _a_transpose(m0, m1, m2, m3, m4, m5, k):
    """A^T m: 6 transformed values back to 4 outputs."""
    two, four, _, eight = k
    s12, d12, s34, d34 = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return m0 + s12 + s34, d12 + two * d34, s12 + four * s34, d12 + eight * d34 + m5


@inline
def _a(g0, g1, g2, g3, k):
    """A g: 4 output gradients to the transformed space (the adjoint of A^T)."""
    two, four, _, eight = k
    even, odd = g0 + g2, g1 + g3
    even_4, odd_8 = g0 + four * g2, two * g1 + eight * g3
    return g0, even + odd, even - odd, even_4 + odd_8, even_4 - odd_8, g3


@inline
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


def winograd_input_transform_loops(x, tiles_h, tiles_w, transformed, first_tile):
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


@helper
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


def winograd_output_transform_loops(products, tiles_h, tiles_w, y):
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


def winograd_output_relu_pool_loops(products, tiles_h, tiles_w, bias, pooled, argmax):
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


@helper
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


def winograd_gradient_transform_loops(dy, tiles_h, tiles_w, transformed):
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


def winograd_pooled_gradient_transform_loops(pooled_gradient, pooled, argmax, tiles_h, tiles_w, transformed):
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


def winograd_input_gradient_loops(transformed, tiles_h, tiles_w, dx):
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


# --- NumPy twins ---------------------------------------------------------------------------
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


def winograd_input_transform_numpy(x, tiles_h, tiles_w, transformed, first_tile):
    """The NumPy twin of winograd_input_transform_loops."""
    b_t = INPUT_TRANSFORM.astype(x.dtype)
    tiles = _tiles(x, tiles_h, tiles_w, 6)
    values = np.einsum("ik,ntwklc,jl->ntwijc", b_t, tiles, b_t, optimize=True)
    count = values.shape[0] * tiles_h * tiles_w
    transformed[:, first_tile : first_tile + count] = _positions_first(values)


def winograd_output_transform_numpy(products, tiles_h, tiles_w, y):
    """The NumPy twin of winograd_output_transform_loops."""
    n_images, out_h, out_w, channels = y.shape
    a_t = OUTPUT_TRANSFORM.astype(y.dtype)
    tiles = products.reshape(6, 6, n_images, tiles_h, tiles_w, channels)
    values = np.einsum("ik,klntwc,jl->ntiwjc", a_t, tiles, a_t, optimize=True)
    y[...] = values.reshape(n_images, 4 * tiles_h, 4 * tiles_w, channels)[:, :out_h, :out_w]


def winograd_gradient_transform_numpy(dy, tiles_h, tiles_w, transformed):
    """The NumPy twin of winograd_gradient_transform_loops."""
    n_images, out_h, out_w, channels = dy.shape
    padded = np.zeros((n_images, 4 * tiles_h, 4 * tiles_w, channels), dy.dtype)
    padded[:, :out_h, :out_w] = dy
    tiles = padded.reshape(n_images, tiles_h, 4, tiles_w, 4, channels)
    a = OUTPUT_TRANSFORM.T.astype(dy.dtype)
    values = np.einsum("ik,nhkwlc,jl->nhwijc", a, tiles, a, optimize=True)
    transformed[...] = _positions_first(values)


def winograd_input_gradient_numpy(transformed, tiles_h, tiles_w, dx):
    """The NumPy twin of winograd_input_gradient_loops."""
    n_images, _, _, channels = dx.shape
    b = INPUT_TRANSFORM.T.astype(dx.dtype)
    tiles = transformed.reshape(6, 6, n_images, tiles_h, tiles_w, channels)
    values = np.einsum("ik,klnhwc,jl->nhwijc", b, tiles, b, optimize=True)
    dx[...] = 0
    for th in range(tiles_h):  # tiles overlap by two rows and columns: add them one row of tiles at a time
        for tw in range(tiles_w):
            dx[:, 4 * th : 4 * th + 6, 4 * tw : 4 * tw + 6] += values[:, th, tw]


def winograd_output_relu_pool_numpy(products, tiles_h, tiles_w, bias, pooled, argmax):
    """The NumPy twin of winograd_output_relu_pool_loops."""
    n_images, pooled_h, pooled_w, channels = pooled.shape
    y = np.empty((n_images, 2 * pooled_h, 2 * pooled_w, channels), pooled.dtype)
    full = np.empty((n_images, 4 * tiles_h, 4 * tiles_w, channels), pooled.dtype)
    winograd_output_transform_numpy(products, tiles_h, tiles_w, full)
    y[...] = full[:, : 2 * pooled_h, : 2 * pooled_w]
    bias_relu_forward_numpy(y.reshape(-1, channels), bias, y.reshape(-1, channels))
    maxpool_forward_numpy(y, 2, 2, 2, 2, pooled, argmax)


def winograd_pooled_gradient_transform_numpy(pooled_gradient, pooled, argmax, tiles_h, tiles_w, transformed):
    """The NumPy twin of winograd_pooled_gradient_transform_loops."""
    n_images, pooled_h, pooled_w, channels = pooled_gradient.shape
    routed = pooled_gradient * (pooled > 0)
    dy = np.empty((n_images, 2 * pooled_h, 2 * pooled_w, channels), routed.dtype)
    maxpool_backward_numpy(routed, argmax, 2, 2, 2, 2, dy)
    winograd_gradient_transform_numpy(dy, tiles_h, tiles_w, transformed)


def _example_arrays():
    image = np.zeros((1, 6, 6, 1), np.float32)
    transformed = np.zeros((36, 1, 1), np.float32)
    pooled = np.zeros((1, 1, 1, 1), np.float32)
    argmax = np.zeros((1, 1, 1, 1), np.int32)
    return image, transformed, pooled, argmax


def winograd_input_transform_example():
    image, transformed, _, _ = _example_arrays()
    return image, 1, 1, transformed, 0


def winograd_output_transform_example():
    _, transformed, pooled, _ = _example_arrays()
    return transformed, 1, 1, pooled


def winograd_output_relu_pool_example():
    _, transformed, pooled, argmax = _example_arrays()
    return transformed, 1, 1, np.zeros(1, np.float32), pooled, argmax


def winograd_gradient_transform_example():
    _, transformed, pooled, _ = _example_arrays()
    return pooled, 1, 1, transformed


def winograd_pooled_gradient_transform_example():
    _, transformed, pooled, argmax = _example_arrays()
    return pooled, pooled.copy(), argmax, 1, 1, transformed


def winograd_input_gradient_example():
    image, transformed, _, _ = _example_arrays()
    return transformed, 1, 1, image
