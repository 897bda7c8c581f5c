"""Max-pooling: each window's maximum and where it was, and the gradient routed back to it.

    maxpool_forward:  x (N, H, W, C) -> out (N, OH, OW, C), argmax (N, OH, OW, C) int32 holding
                      ph * pool_w + pw; on ties the first position in row-major order wins.
    maxpool_backward: dy, argmax (N, OH, OW, C) -> dx (N, H, W, C), overwritten; overlapping
                      windows add up.

Loops for Numba and NumPy twins (tinycnn.kernels.dispatch); `tinycnn.reference` has the plain
teaching versions.
"""

import numpy as np

from tinycnn.kernels.loops import prange


def maxpool_forward_loops(x, pool_h, pool_w, stride_h, stride_w, out, argmax):
    """Max over each (pool_h, pool_w) window of x into out, its position into argmax."""
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


def maxpool_backward_loops(dy, argmax, pool_h, pool_w, stride_h, stride_w, dx):
    """Route each output gradient to the input position that won its window.

    One image per parallel task, so no two tasks write the same element. When windows tile the
    image (stride == pool, the usual case), every covered element is written exactly once, the
    gradient or zero, so dx needs no separate zeroing pass."""
    n_images, out_h, out_w, channels = dy.shape
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


def _window_slices(offset_h, offset_w, stride_h, stride_w, out_h, out_w):
    """Rows and columns of the image that window offset (offset_h, offset_w) reads."""
    return (
        slice(offset_h, offset_h + stride_h * (out_h - 1) + 1, stride_h),
        slice(offset_w, offset_w + stride_w * (out_w - 1) + 1, stride_w),
    )


def maxpool_forward_numpy(x, pool_h, pool_w, stride_h, stride_w, out, argmax):
    """The NumPy twin of maxpool_forward_loops: one strided slice per window offset."""
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


def maxpool_backward_numpy(dy, argmax, pool_h, pool_w, stride_h, stride_w, dx):
    """The NumPy twin of maxpool_backward_loops."""
    _, out_h, out_w, _ = dy.shape
    dx[...] = 0
    for ph in range(pool_h):
        for pw in range(pool_w):
            rows, columns = _window_slices(ph, pw, stride_h, stride_w, out_h, out_w)
            dx[:, rows, columns, :] += np.where(argmax == ph * pool_w + pw, dy, 0)


def maxpool_forward_example():
    """Tiny float32 arguments (warm-up): one 2x2 window of a 3x3 image."""
    x = np.zeros((1, 3, 3, 1), np.float32)
    return x, 2, 2, 2, 2, np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int32)


def maxpool_backward_example():
    """Tiny float32 arguments (warm-up): maxpool_forward_example's, the other way."""
    dy, argmax = np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int32)
    return dy, argmax, 2, 2, 2, 2, np.zeros((1, 3, 3, 1), np.float32)
