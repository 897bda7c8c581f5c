"""MaxPool2D: the maximum of each window, and a gradient that flows only to that maximum.

Shapes (NHWC):
    x (N, H, W, C)  ->  y (N, OH, OW, C),  OH = (H - PH) // SH + 1, OW = (W - PW) // SW + 1
    (sizes that do not divide are floored, as Keras' "valid" pooling: the last rows/columns that do
    not fill a window are dropped.) Strides default to the pool size.

Forward:   y = the maximum of each window;  argmax = where in the window it was
Backward:  dx = dy at each window's argmax, 0 elsewhere (overlapping windows add up)

Ties: when several positions of a window hold the maximum, the first in row-major order (top row
first, then left to right) gets the whole gradient, as in PyTorch. The plain loops:
`tinycnn.reference.maxpool_forward` and `maxpool_backward`.
"""

from tinycnn.errors import ShapeError
from tinycnn.kernels import maxpool_backward, maxpool_forward
from tinycnn.layers.base import Layer, format_shape
from tinycnn.layers.conv import pair


class MaxPool2D(Layer):
    """Max pooling over `pool_size` windows moved by `strides` (default: `pool_size`)."""

    default_name = "max_pooling2d"

    def __init__(self, pool_size=2, strides=None, name=None):
        super().__init__(name)
        self.pool_size = pair(pool_size, "MaxPool2D: pool_size")
        self.strides = pair(strides, "MaxPool2D: strides") if strides is not None else self.pool_size

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(
                f"{self.describe()}: expects images (N, H, W, C), got per-example shape {input_shape}"
            )
        height, width, channels = input_shape
        (pool_h, pool_w), (stride_h, stride_w) = self.pool_size, self.strides
        if height < pool_h or width < pool_w:
            raise ShapeError(
                f"{self.describe()}: a {pool_h}x{pool_w} pool does not fit input {format_shape(input_shape)}"
            )
        return (height - pool_h) // stride_h + 1, (width - pool_w) // stride_w + 1, channels

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        y, argmax = maxpool_forward(x, self.pool_size, self.strides, (len(x), *self.output_shape))
        self._saved = (x.shape, argmax) if keep else None
        return y

    def backward(self, dy, input_gradient=True):
        x_shape, argmax = self.saved()
        dy = self.check_gradient(dy)
        if not input_gradient:
            return None
        return maxpool_backward(dy, argmax, self.pool_size, self.strides, x_shape)

    def get_config(self):
        return {"pool_size": list(self.pool_size), "strides": list(self.strides)}
