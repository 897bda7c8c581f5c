"""The named kernels: the hot loops of tinycnn, one module per operation.

Each operation's module holds its loops (compiled by Numba, threaded and serial) and its NumPy
twin side by side; `tinycnn.kernels.dispatch` runs whichever the backend and the size of the work
call for. Kernels write into output arrays their caller provides (`..._into`), so that the fast
engine (tinycnn.engine) decides which buffers are reused. Layers use the allocating forms below,
which read like the maths: `cols = im2col(x, geometry)`.

    convolution: im2col_into, col2im_into          pooling: maxpool_forward_into, maxpool_backward_into
    activations: relu_forward_into, bias_relu_forward_into, relu_backward_into
    dropout: dropout_apply_into                    adam: adam_update_into
    winograd: winograd_*_into (Winograd's F(4x4, 3x3) transforms)

`warmup()` compiles (or loads from Numba's on-disk cache) every kernel; `tinycnn.warmup(batch_size=1)`
only those single images use.
"""

import numpy as np

from tinycnn.kernels import activations, adam, convolution, dispatch, dropout, pooling, winograd
from tinycnn.kernels.dispatch import KERNELS, Kernel, serial_in_this_thread
from tinycnn.settings import backend_in_use

im2col_into = Kernel(
    convolution.im2col_loops, convolution.im2col_numpy, convolution.im2col_example, work="cols"
)
col2im_into = Kernel(
    convolution.col2im_loops, convolution.col2im_numpy, convolution.col2im_example, work="cols"
)
maxpool_forward_into = Kernel(
    pooling.maxpool_forward_loops, pooling.maxpool_forward_numpy, pooling.maxpool_forward_example, work="x"
)
maxpool_backward_into = Kernel(
    pooling.maxpool_backward_loops,
    pooling.maxpool_backward_numpy,
    pooling.maxpool_backward_example,
    work="dx",
)
relu_forward_into = Kernel(
    activations.relu_forward_loops, activations.relu_forward_numpy, activations.relu_forward_example, work="x"
)
bias_relu_forward_into = Kernel(
    activations.bias_relu_forward_loops,
    activations.bias_relu_forward_numpy,
    activations.bias_relu_forward_example,
    work="x",
)
relu_backward_into = Kernel(
    activations.relu_backward_loops,
    activations.relu_backward_numpy,
    activations.relu_backward_example,
    work="y",
)
dropout_apply_into = Kernel(
    dropout.dropout_apply_loops, dropout.dropout_apply_numpy, dropout.dropout_apply_example, work="values"
)
adam_update_into = Kernel(
    adam.adam_update_loops, adam.adam_update_numpy, adam.adam_update_example, work="param"
)
winograd_input_transform_into = Kernel(
    winograd.winograd_input_transform_loops,
    winograd.winograd_input_transform_numpy,
    winograd.winograd_input_transform_example,
    work="x",
)
winograd_output_transform_into = Kernel(
    winograd.winograd_output_transform_loops,
    winograd.winograd_output_transform_numpy,
    winograd.winograd_output_transform_example,
    work="y",
)
winograd_output_relu_pool_into = Kernel(
    winograd.winograd_output_relu_pool_loops,
    winograd.winograd_output_relu_pool_numpy,
    winograd.winograd_output_relu_pool_example,
    work="products",
)
winograd_gradient_transform_into = Kernel(
    winograd.winograd_gradient_transform_loops,
    winograd.winograd_gradient_transform_numpy,
    winograd.winograd_gradient_transform_example,
    work="dy",
)
winograd_pooled_gradient_transform_into = Kernel(
    winograd.winograd_pooled_gradient_transform_loops,
    winograd.winograd_pooled_gradient_transform_numpy,
    winograd.winograd_pooled_gradient_transform_example,
    work="transformed",
)
winograd_input_gradient_into = Kernel(
    winograd.winograd_input_gradient_loops,
    winograd.winograd_input_gradient_numpy,
    winograd.winograd_input_gradient_example,
    work="dx",
)


# --- the allocating forms the layers use ------------------------------------------------------
def im2col(x, geometry):
    """cols (N*OH*OW, KH*KW*C): every window of x (N, H, W, C) as a row (tinycnn.kernels.convolution);
    geometry: a Conv2D's (kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w)."""
    x = np.ascontiguousarray(x)
    kernel_h, kernel_w, _, _, _, _, out_h, out_w = geometry
    cols = np.empty((x.shape[0] * out_h * out_w, kernel_h * kernel_w * x.shape[3]), x.dtype)
    im2col_into(x, *geometry, cols)
    return cols


def col2im(cols, geometry, image_shape):
    """dx (N, H, W, C) of `image_shape`: the rows of cols folded back, overlaps summed (im2col's adjoint)."""
    dx = np.empty(image_shape, cols.dtype)
    col2im_into(np.ascontiguousarray(cols), *geometry, dx)
    return dx


def maxpool_forward(x, pool_size, strides, output_shape):
    """(y, argmax), each (N, OH, OW, C) of `output_shape`: each window's maximum and its position
    ph * PW + pw in the window (ties: the first in row-major order)."""
    x = np.ascontiguousarray(x)
    y, argmax = np.empty(output_shape, x.dtype), np.empty(output_shape, np.int32)
    maxpool_forward_into(x, *pool_size, *strides, y, argmax)
    return y, argmax


def maxpool_backward(dy, argmax, pool_size, strides, image_shape):
    """dx (N, H, W, C) of `image_shape`: each window's gradient at the position that won it."""
    dx = np.empty(image_shape, dy.dtype)
    maxpool_backward_into(np.ascontiguousarray(dy), argmax, *pool_size, *strides, dx)
    return dx


def adam_update(param, gradient, m, v, alpha, beta_1, beta_2, epsilon):
    """One Adam step on param, m and v in place (tinycnn.kernels.adam), with Adam's own constants.

    All four arrays must share one shape and dtype and be C-contiguous: the kernel indexes them as
    one flat range."""
    if not (param.shape == gradient.shape == m.shape == v.shape):
        raise ValueError(
            f"adam_update: param {param.shape}, gradient {gradient.shape}, m {m.shape} and v {v.shape} must match"
        )
    if not (param.dtype == gradient.dtype == m.dtype == v.dtype) or not all(
        array.flags.c_contiguous for array in (param, gradient, m, v)
    ):
        raise ValueError("adam_update: param, gradient, m and v must be C-contiguous arrays of one dtype")
    scalar = param.dtype.type
    adam_update_into(
        param, gradient, m, v, scalar(alpha), scalar(1 - beta_1), scalar(1 - beta_2), scalar(epsilon)
    )


def backend():
    """The name of the backend in use: "numba" or "numpy" (see tinycnn.settings)."""
    return backend_in_use()


def warmup(kernels=None):
    """Compile, or load from Numba's on-disk cache, `kernels` (default: every one) for float32;
    returns the backend's name. `tinycnn.warmup(batch_size=...)` chooses the kernels for you."""
    return dispatch.warmup(KERNELS if kernels is None else kernels)


__all__ = [
    "Kernel",
    "KERNELS",
    "backend",
    "warmup",
    "serial_in_this_thread",
    "im2col",
    "col2im",
    "maxpool_forward",
    "maxpool_backward",
    "adam_update",
    "im2col_into",
    "col2im_into",
    "maxpool_forward_into",
    "maxpool_backward_into",
    "relu_forward_into",
    "bias_relu_forward_into",
    "relu_backward_into",
    "dropout_apply_into",
    "adam_update_into",
    "winograd_input_transform_into",
    "winograd_output_transform_into",
    "winograd_output_relu_pool_into",
    "winograd_gradient_transform_into",
    "winograd_pooled_gradient_transform_into",
    "winograd_input_gradient_into",
]
