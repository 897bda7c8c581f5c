"""im2col and col2im: a convolution's windows unfolded into rows of a matrix, and folded back.

Geometry (NHWC): an input image is (H, W, C); a window of (KH, KW) slides with strides (SH, SW)
after pad_top rows and pad_left columns of zeros are (virtually) added. Output position (oh, ow)
reads input rows oh * SH - pad_top + kh for kh < KH, and likewise for columns; positions outside
the image read zero. No padded copy is made.

    im2col: x (N, H, W, C) -> cols (N*OH*OW, KH*KW*C); row (n*OH + oh)*OW + ow holds window
            (oh, ow) of image n, ordered (kh, kw, c): a (KH, KW, C_in, C_out) kernel reshaped to a
            matrix multiplies it.
    col2im: its adjoint, cols -> dx (N, H, W, C), overlapping windows summed.

Each comes as loops (compiled by Numba: tinycnn.kernels.dispatch) and as a NumPy twin that loops
over the few kernel offsets only, one strided slice of the whole batch each (as
deep-learning-from-scratch's im2col). `tinycnn.reference.im2col` is the plain teaching version.
"""

import numpy as np

from tinycnn.kernels.loops import prange


def im2col_loops(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols):
    """Unfold every window of x (N, H, W, C) into a row of cols (N*OH*OW, KH*KW*C), in place."""
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


def col2im_loops(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx):
    """Fold rows of cols (N*OH*OW, KH*KW*C) back onto dx (N, H, W, C), overwritten, summing where
    windows overlap. One image per parallel task: each owns its image of dx, so there is no race."""
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


def _window_slices(offset_h, offset_w, stride_h, stride_w, out_h, out_w):
    """Rows and columns of the (padded) image that kernel offset (offset_h, offset_w) reads."""
    return (
        slice(offset_h, offset_h + stride_h * (out_h - 1) + 1, stride_h),
        slice(offset_w, offset_w + stride_w * (out_w - 1) + 1, stride_w),
    )


def _padding_after(height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """Rows/columns of zeros needed below and right so every window fits in the padded image."""
    pad_bottom = max(0, (out_h - 1) * stride_h + kernel_h - height - pad_top)
    pad_right = max(0, (out_w - 1) * stride_w + kernel_w - width - pad_left)
    return pad_bottom, pad_right


def im2col_numpy(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols):
    """The NumPy twin of im2col_loops."""
    n_images, height, width, channels = x.shape
    pad_bottom, pad_right = _padding_after(
        height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w
    )
    padded = np.pad(x, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
    windows = cols.reshape(n_images, out_h, out_w, kernel_h, kernel_w, channels)
    for kh in range(kernel_h):
        for kw in range(kernel_w):
            rows, columns = _window_slices(kh, kw, stride_h, stride_w, out_h, out_w)
            windows[:, :, :, kh, kw, :] = padded[:, rows, columns, :]


def col2im_numpy(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx):
    """The NumPy twin of col2im_loops."""
    n_images, height, width, channels = dx.shape
    pad_bottom, pad_right = _padding_after(
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


def im2col_example():
    """Tiny float32 arguments (warm-up): a 3x3 image, 2x2 windows."""
    return np.zeros((1, 3, 3, 1), np.float32), 2, 2, 1, 1, 0, 0, 2, 2, np.zeros((4, 4), np.float32)


def col2im_example():
    """Tiny float32 arguments (warm-up): im2col_example's, the other way."""
    return np.zeros((4, 4), np.float32), 2, 2, 1, 1, 0, 0, 2, 2, np.zeros((1, 3, 3, 1), np.float32)
