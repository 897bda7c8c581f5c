"""Conv2D: a 2-D convolution (cross-correlation, as in every framework) computed as im2col + GEMM.

Shapes (NHWC):
    x      (N, H, W, C_in)
    kernel (KH, KW, C_in, C_out), bias (C_out,)
    y      (N, OH, OW, C_out)
    "valid": OH = (H - KH) // SH + 1
    "same":  OH = ceil(H / SH), zeros padded as TensorFlow does: pad_total = max((OH - 1) * SH + KH
             - H, 0) rows, pad_total // 2 on top and the rest (one more when odd) at the bottom.
    (and the same for widths.)

Forward:   cols = im2col(x)                      (N*OH*OW, KH*KW*C_in): each window a row
           y    = cols @ kernel_matrix + bias     kernel_matrix: (KH*KW*C_in, C_out)
Backward:  dkernel = cols.T @ dy                  (each weight's gradient sums over every window)
           dbias   = sum of dy over N, OH, OW
           dx      = col2im(dy @ kernel_matrix.T) (each window's gradient, folded back and summed)

The same computation one output element at a time, as loops: `tinycnn.reference.conv2d_forward`
and `conv2d_backward`. A model runs this layer faster than written here (a few images at a time on
every core, and 3x3 kernels by Winograd's algorithm): that is the fast engine's work
(tinycnn.engine), and `model.plan()` shows it. `algorithm` is a request to that engine.
"""

import math
from typing import NamedTuple

import numpy as np

from tinycnn import initializers
from tinycnn.errors import ShapeError
from tinycnn.kernels import col2im, im2col
from tinycnn.layers.base import Layer, format_shape

PADDINGS = ("valid", "same")
ALGORITHMS = ("auto", "im2col", "winograd")  # how the fast engine computes it (tinycnn.engine)


class ConvGeometry(NamedTuple):
    """Where each window of a convolution lies: kernel, strides, zeros before, output size."""

    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    out_h: int
    out_w: int


def pair(value, what):
    """(a, b) from an int or a pair of positive ints, with a clear error otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        first, second = value
        valid = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return int(first), int(second)


def conv_output_size(size, kernel, stride, padding):
    """(output size, padding before) along one axis, for "valid" or "same" (TensorFlow's rule)."""
    if padding == "valid":
        return (size - kernel) // stride + 1, 0
    out = math.ceil(size / stride)
    pad_total = max((out - 1) * stride + kernel - size, 0)
    return out, pad_total // 2


class Conv2D(Layer):
    """2-D convolution with `filters` output channels; see the module docstring for the maths."""

    default_name = "conv2d"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        kernel_initializer="glorot_uniform",
        algorithm="auto",
        name=None,
    ):
        super().__init__(name)
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        if padding not in PADDINGS:
            raise ValueError(f"Conv2D: padding must be one of {PADDINGS}, got {padding!r}")
        initializers.get(kernel_initializer)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"Conv2D: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "Conv2D: kernel_size")
        self.strides = pair(strides, "Conv2D: strides")
        if algorithm == "winograd" and (self.kernel_size != (3, 3) or self.strides != (1, 1)):
            raise ValueError(
                f"Conv2D: algorithm='winograd' needs a 3x3 kernel with stride 1, "
                f"got kernel {self.kernel_size} and strides {self.strides}"
            )
        self.algorithm = algorithm
        self.padding = padding
        self.kernel_initializer = kernel_initializer
        self.geometry = None  # a ConvGeometry, once built

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(
                f"{self.describe()}: expects images (N, H, W, C), got per-example shape {input_shape}"
            )
        height, width, _ = input_shape
        (kernel_h, kernel_w), (stride_h, stride_w) = self.kernel_size, self.strides
        if self.padding == "valid" and (height < kernel_h or width < kernel_w):
            raise ShapeError(
                f"{self.describe()}: a {kernel_h}x{kernel_w} kernel does not fit input "
                f"{format_shape(input_shape)} with padding='valid'"
            )
        out_h, pad_top = conv_output_size(height, kernel_h, stride_h, self.padding)
        out_w, pad_left = conv_output_size(width, kernel_w, stride_w, self.padding)
        self.geometry = ConvGeometry(kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
        return out_h, out_w, self.filters

    def parameter_shapes(self, input_shape):
        return {"kernel": (*self.kernel_size, input_shape[2], self.filters), "bias": (self.filters,)}

    def create_params(self, rng, dtype):
        shapes = self.parameter_shapes(self.input_shape)
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)(shapes["kernel"], rng, dtype),
            "bias": np.zeros(shapes["bias"], dtype),
        }

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        kernel_matrix = self.params["kernel"].reshape(-1, self.filters)
        cols = im2col(x, self.geometry)
        y = cols @ kernel_matrix + self.params["bias"]
        self._saved = (x.shape, cols) if keep else None
        return y.reshape(len(x), *self.output_shape)

    def backward(self, dy, input_gradient=True):
        x_shape, cols = self.saved()
        dy = self.check_gradient(dy).reshape(-1, self.filters)
        kernel_matrix = self.params["kernel"].reshape(-1, self.filters)
        self.grads["kernel"] = (cols.T @ dy).reshape(self.params["kernel"].shape)
        self.grads["bias"] = dy.sum(axis=0)
        if not input_gradient:
            return None
        return col2im(dy @ kernel_matrix.T, self.geometry, x_shape)

    def get_config(self):
        return {
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "kernel_initializer": self.kernel_initializer,
            **({"algorithm": self.algorithm} if self.algorithm != "auto" else {}),
        }
