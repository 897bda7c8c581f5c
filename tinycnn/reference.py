"""The naive twins: every forward and backward pass of tinycnn as plain loops, to read and to test against.

Each function here loops explicitly over output positions (and, where it helps, over the positions
inside one window) and uses only tiny NumPy operations inside the loops: a product of one window
with one kernel slice, summed. There is no im2col, no GEMM over the whole batch, and nothing from
`tinycnn.kernels`, so these functions are an independent oracle for the fast layers. They are slow:
use them on small arrays.

Notation: shapes are written (N, H, W, C): N images of H rows, W columns and C channels (NHWC).
A window of (KH, KW) slides with strides (SH, SW); output position (oh, ow) reads input rows
oh * SH - pad_top + kh (kh < KH) and columns ow * SW - pad_left + kw (kw < KW); rows or columns
outside the image read zero.

Gradients are written d<name> = dL/d<name> for some scalar loss L; every backward function takes
dy = dL/dy of its forward's output y and returns the gradients of the forward's inputs.
"""

import math

import numpy as np

__all__ = [
    "same_padding",
    "conv_geometry",
    "conv2d_forward",
    "conv2d_backward",
    "maxpool_forward",
    "maxpool_backward",
    "dense_forward",
    "dense_backward",
    "relu_forward",
    "relu_backward",
    "dropout_forward",
    "dropout_backward",
    "flatten",
    "unflatten",
    "softmax_cross_entropy",
    "im2col",
    "col2im",
    "adam_update",
]


def _pair(value):
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


# --- geometry -------------------------------------------------------------------------------
def same_padding(size, kernel, stride):
    """(out, pad_before, pad_after) of TensorFlow's "same" padding along one axis.

    out = ceil(size / stride); pad_total = max((out - 1) * stride + kernel - size, 0);
    pad_before = pad_total // 2 and pad_after = pad_total - pad_before (the odd row goes after).
    """
    out = math.ceil(size / stride)
    pad_total = max((out - 1) * stride + kernel - size, 0)
    return out, pad_total // 2, pad_total - pad_total // 2


def conv_geometry(height, width, kernel_size, strides, padding):
    """(out_h, out_w, pad_top, pad_left) of a convolution over an (H, W) image.

    "valid": OH = (H - KH) // SH + 1 and no padding; "same": see `same_padding`.
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = _pair(kernel_size), _pair(strides)
    if padding == "valid":
        return (height - kernel_h) // stride_h + 1, (width - kernel_w) // stride_w + 1, 0, 0
    if padding == "same":
        out_h, pad_top, _ = same_padding(height, kernel_h, stride_h)
        out_w, pad_left, _ = same_padding(width, kernel_w, stride_w)
        return out_h, out_w, pad_top, pad_left
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


def _zero_padded(x, kernel_size, strides, pad_top, pad_left, out_h, out_w):
    """x (N, H, W, C) with pad_top/pad_left rows/columns of zeros before it and enough after it
    for every window of the output to fit."""
    n_images, height, width, channels = x.shape
    (kernel_h, kernel_w), (stride_h, stride_w) = _pair(kernel_size), _pair(strides)
    padded_h = max(pad_top + height, (out_h - 1) * stride_h + kernel_h)
    padded_w = max(pad_left + width, (out_w - 1) * stride_w + kernel_w)
    padded = np.zeros((n_images, padded_h, padded_w, channels), x.dtype)
    padded[:, pad_top : pad_top + height, pad_left : pad_left + width, :] = x
    return padded


# --- convolution ----------------------------------------------------------------------------
def conv2d_forward(x, kernel, bias, strides=(1, 1), padding="valid"):
    """2-D convolution (cross-correlation), one output element at a time.

    x (N, H, W, C_in), kernel (KH, KW, C_in, C_out), bias (C_out,) -> y (N, OH, OW, C_out):

        y[n, oh, ow, co] = bias[co] + sum over kh, kw, ci of
                           xpad[n, oh * SH + kh, ow * SW + kw, ci] * kernel[kh, kw, ci, co]

    where xpad is x with pad_top rows and pad_left columns of zeros in front ("valid": none;
    "same": TensorFlow's rule, see `same_padding`) and zeros after it.
    """
    kernel_h, kernel_w, _, filters = kernel.shape
    (stride_h, stride_w) = _pair(strides)
    n_images, height, width, _ = x.shape
    out_h, out_w, pad_top, pad_left = conv_geometry(height, width, (kernel_h, kernel_w), strides, padding)
    xpad = _zero_padded(x, (kernel_h, kernel_w), strides, pad_top, pad_left, out_h, out_w)
    y = np.zeros((n_images, out_h, out_w, filters), np.result_type(x, kernel))
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                top, left = oh * stride_h, ow * stride_w
                window = xpad[n, top : top + kernel_h, left : left + kernel_w, :]  # (KH, KW, C_in)
                for co in range(filters):
                    y[n, oh, ow, co] = np.sum(window * kernel[:, :, :, co]) + bias[co]
    return y


def conv2d_backward(x, kernel, dy, strides=(1, 1), padding="valid"):
    """Gradients of `conv2d_forward`, accumulated one output element at a time.

    x (N, H, W, C_in), kernel (KH, KW, C_in, C_out), dy (N, OH, OW, C_out) ->
    (dx (N, H, W, C_in), dkernel (KH, KW, C_in, C_out), dbias (C_out,)). For every output
    element (n, oh, ow, co), with window = xpad[n, oh*SH : oh*SH+KH, ow*SW : ow*SW+KW, :]:

        dbias[co]          += dy[n, oh, ow, co]
        dkernel[..., co]   += dy[n, oh, ow, co] * window
        dxpad[same window] += dy[n, oh, ow, co] * kernel[..., co]

    and dx is dxpad without its padding (gradients that land on padding are dropped).
    """
    kernel_h, kernel_w, _, filters = kernel.shape
    (stride_h, stride_w) = _pair(strides)
    n_images, height, width, _ = x.shape
    out_h, out_w, pad_top, pad_left = conv_geometry(height, width, (kernel_h, kernel_w), strides, padding)
    assert dy.shape == (n_images, out_h, out_w, filters), (dy.shape, (n_images, out_h, out_w, filters))
    xpad = _zero_padded(x, (kernel_h, kernel_w), strides, pad_top, pad_left, out_h, out_w)
    dxpad = np.zeros_like(xpad)
    dkernel = np.zeros_like(kernel)
    dbias = np.zeros(filters, kernel.dtype)
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                top, left = oh * stride_h, ow * stride_w
                window = xpad[n, top : top + kernel_h, left : left + kernel_w, :]
                for co in range(filters):
                    g = dy[n, oh, ow, co]
                    dbias[co] += g
                    dkernel[:, :, :, co] += g * window
                    dxpad[n, top : top + kernel_h, left : left + kernel_w, :] += g * kernel[:, :, :, co]
    dx = dxpad[:, pad_top : pad_top + height, pad_left : pad_left + width, :].copy()
    return dx, dkernel, dbias


# --- max pooling ----------------------------------------------------------------------------
def maxpool_forward(x, pool_size, strides=None):
    """Max pooling ("valid": sizes that do not divide are floored), with the winner of each window.

    x (N, H, W, C) -> y (N, OH, OW, C), argmax (N, OH, OW, C) int32, where
    OH = (H - PH) // SH + 1, OW = (W - PW) // SW + 1 (strides default to the pool size) and

        y[n, oh, ow, c]      = max over ph, pw of x[n, oh * SH + ph, ow * SW + pw, c]
        argmax[n, oh, ow, c] = ph * PW + pw of that maximum

    Ties: the positions are visited in row-major order (ph, then pw) and a later position wins
    only if it is strictly greater, so the first maximum in row-major order is kept.
    """
    pool_h, pool_w = _pair(pool_size)
    stride_h, stride_w = _pair(strides if strides is not None else (pool_h, pool_w))
    n_images, height, width, channels = x.shape
    out_h, out_w = (height - pool_h) // stride_h + 1, (width - pool_w) // stride_w + 1
    y = np.zeros((n_images, out_h, out_w, channels), x.dtype)
    argmax = np.zeros((n_images, out_h, out_w, channels), np.int32)
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                for c in range(channels):
                    best, best_index = None, 0
                    for ph in range(pool_h):
                        for pw in range(pool_w):
                            value = x[n, oh * stride_h + ph, ow * stride_w + pw, c]
                            if best is None or value > best:
                                best, best_index = value, ph * pool_w + pw
                    y[n, oh, ow, c] = best
                    argmax[n, oh, ow, c] = best_index
    return y, argmax


def maxpool_backward(dy, argmax, x_shape, pool_size, strides=None):
    """Gradient of `maxpool_forward`: each dy goes to the input position that won its window.

    dy, argmax (N, OH, OW, C), x_shape (N, H, W, C) -> dx (N, H, W, C):

        dx[n, oh * SH + argmax // PW, ow * SW + argmax % PW, c] += dy[n, oh, ow, c]

    Where windows overlap (strides smaller than the pool) the contributions add up; positions
    that win no window (and rows/columns dropped by the floor) get zero.
    """
    pool_h, pool_w = _pair(pool_size)
    stride_h, stride_w = _pair(strides if strides is not None else (pool_h, pool_w))
    dx = np.zeros(x_shape, dy.dtype)
    n_images, out_h, out_w, channels = dy.shape
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                for c in range(channels):
                    ph, pw = divmod(int(argmax[n, oh, ow, c]), pool_w)
                    dx[n, oh * stride_h + ph, ow * stride_w + pw, c] += dy[n, oh, ow, c]
    return dx


# --- dense ----------------------------------------------------------------------------------
def dense_forward(x, kernel, bias):
    """Fully connected layer: x (N, D), kernel (D, U), bias (U,) -> y (N, U),

    y[n, u] = bias[u] + sum over d of x[n, d] * kernel[d, u].
    """
    n_rows, units = x.shape[0], kernel.shape[1]
    y = np.zeros((n_rows, units), np.result_type(x, kernel))
    for n in range(n_rows):
        for u in range(units):
            y[n, u] = np.sum(x[n, :] * kernel[:, u]) + bias[u]
    return y


def dense_backward(x, kernel, dy):
    """Gradients of `dense_forward`: x (N, D), kernel (D, U), dy (N, U) ->
    (dx (N, D), dkernel (D, U), dbias (U,)), accumulated per output element (n, u):

        dx[n, :] += dy[n, u] * kernel[:, u];  dkernel[:, u] += dy[n, u] * x[n, :];  dbias[u] += dy[n, u]
    """
    n_rows, units = dy.shape
    dx, dkernel, dbias = np.zeros_like(x), np.zeros_like(kernel), np.zeros(units, kernel.dtype)
    for n in range(n_rows):
        for u in range(units):
            dx[n, :] += dy[n, u] * kernel[:, u]
            dkernel[:, u] += dy[n, u] * x[n, :]
            dbias[u] += dy[n, u]
    return dx, dkernel, dbias


# --- elementwise layers ---------------------------------------------------------------------
def relu_forward(x):
    """y = max(x, 0) element by element; any shape (N, ...) -> the same."""
    y = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        y[index] = x[index] if x[index] > 0 else 0.0
    return y


def relu_backward(x, dy):
    """dx = dy where x > 0, else 0 (the gradient at exactly x == 0 is taken as 0)."""
    dx = np.zeros_like(dy)
    for index in np.ndindex(x.shape):
        dx[index] = dy[index] if x[index] > 0 else 0.0
    return dx


def dropout_forward(x, mask_keep, rate):
    """Inverted dropout with a given mask: y = x * keep / (1 - rate), keep in {0, 1}.

    x and mask_keep of one shape (N, ...); `rate` is the fraction dropped, so the survivors are
    scaled up by 1 / (1 - rate) and the expected value of y equals x.
    """
    y = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        y[index] = x[index] / (1.0 - rate) if mask_keep[index] else 0.0
    return y


def dropout_backward(dy, mask_keep, rate):
    """dx = dy * keep / (1 - rate): the gradient flows, scaled, through the kept positions."""
    return dropout_forward(dy, mask_keep, rate)


def flatten(x):
    """(N, H, W, C) -> (N, H*W*C) in NHWC (row-major, Keras') order:

    out[n, (h * W + w) * C + c] = x[n, h, w, c]     (channels vary fastest)
    """
    n_images = x.shape[0]
    example_shape = x.shape[1:]
    out = np.zeros((n_images, int(np.prod(example_shape))), x.dtype)
    for n in range(n_images):
        for flat_index, index in enumerate(np.ndindex(example_shape)):
            out[n, flat_index] = x[(n, *index)]
    return out


def unflatten(dy, x_shape):
    """The backward of `flatten`: (N, H*W*C) -> (N, H, W, C), the same order read back."""
    dx = np.zeros(x_shape, dy.dtype)
    for n in range(x_shape[0]):
        for flat_index, index in enumerate(np.ndindex(x_shape[1:])):
            dx[(n, *index)] = dy[n, flat_index]
    return dx


# --- loss -----------------------------------------------------------------------------------
def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient, one row at a time.

    logits (N, K), labels (N,) integers in [0, K) -> (loss, dlogits (N, K)). For each row z with
    label t, shift by m = max_k z_k so that no exp overflows, and take the log-softmax

        log p_k = (z_k - m) - log(sum_j exp(z_j - m))         (the log-sum-exp trick)
        loss_n       = -log p_t
        dlogits[n,k] = (p_k - [k == t]) / N

    and loss = (1 / N) * sum_n loss_n. (Subtracting log(sum) from the shifted logits, rather than
    forming log-sum-exp = m + log(sum) first, keeps p_t - 1 accurate when p_t is nearly 1.)
    """
    n_rows, n_classes = logits.shape
    total = 0.0
    dlogits = np.zeros((n_rows, n_classes), np.float64)
    for n in range(n_rows):
        row = [float(value) for value in logits[n]]
        target = int(labels[n])
        biggest = max(row)
        shifted = [z - biggest for z in row]
        log_sum = math.log(sum(math.exp(s) for s in shifted))
        total += log_sum - shifted[target]
        for k in range(n_classes):
            dlogits[n, k] = (math.exp(shifted[k] - log_sum) - (1.0 if k == target else 0.0)) / n_rows
    return total / n_rows, dlogits


# --- im2col / col2im ------------------------------------------------------------------------
def im2col(x, kernel_size, strides, pad_top, pad_left, out_h, out_w):
    """Unfold every window of x into one row, element by element.

    x (N, H, W, C) -> cols (N * OH * OW, KH * KW * C) with

        cols[(n * OH + oh) * OW + ow, (kh * KW + kw) * C + c] = x[n, ih, iw, c]
        ih = oh * SH - pad_top + kh,  iw = ow * SW - pad_left + kw   (0 when outside the image)

    so that cols @ kernel.reshape(KH * KW * C, C_out) is the convolution.
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = _pair(kernel_size), _pair(strides)
    n_images, height, width, channels = x.shape
    cols = np.zeros((n_images * out_h * out_w, kernel_h * kernel_w * channels), x.dtype)
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                row = (n * out_h + oh) * out_w + ow
                for kh in range(kernel_h):
                    for kw in range(kernel_w):
                        ih, iw = oh * stride_h - pad_top + kh, ow * stride_w - pad_left + kw
                        if 0 <= ih < height and 0 <= iw < width:
                            for c in range(channels):
                                cols[row, (kh * kernel_w + kw) * channels + c] = x[n, ih, iw, c]
    return cols


def col2im(cols, x_shape, kernel_size, strides, pad_top, pad_left, out_h, out_w):
    """Fold rows of cols back onto an image, adding up where windows overlap (im2col's adjoint).

    cols (N * OH * OW, KH * KW * C), x_shape (N, H, W, C) -> dx (N, H, W, C) with

        dx[n, ih, iw, c] += cols[(n * OH + oh) * OW + ow, (kh * KW + kw) * C + c]

    for every (oh, ow, kh, kw) whose (ih, iw) lies inside the image (padding is dropped).
    For any x and Y: sum(im2col(x) * Y) == sum(x * col2im(Y)).
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = _pair(kernel_size), _pair(strides)
    n_images, height, width, channels = x_shape
    dx = np.zeros(x_shape, cols.dtype)
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                row = (n * out_h + oh) * out_w + ow
                for kh in range(kernel_h):
                    for kw in range(kernel_w):
                        ih, iw = oh * stride_h - pad_top + kh, ow * stride_w - pad_left + kw
                        if 0 <= ih < height and 0 <= iw < width:
                            for c in range(channels):
                                dx[n, ih, iw, c] += cols[row, (kh * kernel_w + kw) * channels + c]
    return dx


# --- optimizer step -------------------------------------------------------------------------
def adam_update(param, gradient, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """One Adam step, element by element, in place on param, m and v (Keras' form).

    alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t) for step t (counted from 1):

        m = m + (1 - beta_1) * (g - m);  v = v + (1 - beta_2) * (g^2 - v)
        p = p - alpha * m / (sqrt(v) + epsilon)

    (1 - beta_1) and (1 - beta_2) are passed in, computed in the arrays' precision.
    """
    for index in np.ndindex(param.shape):
        g = gradient[index]
        m[index] = m[index] + one_minus_beta_1 * (g - m[index])
        v[index] = v[index] + one_minus_beta_2 * (g * g - v[index])
        param[index] = param[index] - alpha * m[index] / (np.sqrt(v[index]) + epsilon)
