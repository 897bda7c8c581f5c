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
bias vector) that waking the thread pool would cost more than the loop itself.
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
    for task in prange(n_images * out_h):
        n = task // out_h
        oh = task % out_h
        for ow in range(out_w):
            row = (n * out_h + oh) * out_w + ow
            for kh in range(kernel_h):
                ih = oh * stride_h - pad_top + kh
                for kw in range(kernel_w):
                    iw = ow * stride_w - pad_left + kw
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


def _serial_twin(kernel):
    """The kernel's loops compiled without threads (`prange` runs as `range`), cached apart."""
    source = kernel.py_func
    twin = types.FunctionType(source.__code__, source.__globals__, f"{source.__name__}_serial")
    twin.__qualname__ = f"{source.__qualname__}_serial"  # Numba names its cache files after it
    twin.__doc__ = f"`{source.__name__}` without threads, for small work."
    return njit(cache=True)(twin)


for _name in KERNELS:
    globals()[f"{_name}_serial"] = _serial_twin(globals()[_name])


def warmup():
    """Compile (or load from Numba's cache) every kernel and its serial twin for float32."""
    for suffix in ("", "_serial"):
        _warm({name: globals()[name + suffix] for name in KERNELS})


def _warm(kernel):
    """Call each kernel of `kernel` ({name: function}) once on tiny float32 arrays."""
    x = np.zeros((1, 3, 3, 1), np.float32)
    cols = np.zeros((4, 4), np.float32)
    kernel["im2col"](x, 2, 2, 1, 1, 0, 0, 2, 2, cols)
    kernel["col2im"](cols, 2, 2, 1, 1, 0, 0, 2, 2, x)
    pooled = np.zeros((1, 1, 1, 1), np.float32)
    argmax = np.zeros((1, 1, 1, 1), np.int32)
    kernel["maxpool_forward"](x, 2, 2, 2, 2, pooled, argmax)
    kernel["maxpool_backward"](pooled, argmax, 2, 2, 2, 2, x)
    one = np.float32(1)
    kernel["adam_update"](cols, cols, cols.copy(), cols.copy(), one, one, one, one)
    kernel["relu_forward"](cols, cols.copy())
    kernel["bias_relu_forward"](cols, cols[0].copy(), cols.copy())
    kernel["relu_backward"](cols, cols, cols.copy())
