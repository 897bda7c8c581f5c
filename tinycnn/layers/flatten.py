"""Flatten: (N, H, W, C) -> (N, H*W*C) in NHWC (row-major) order, as Keras; backward reshapes back.

Both passes return views of the array they are given (no copy). The plain version:
`tinycnn.reference.flatten` and `unflatten`.
"""

import numpy as np

from tinycnn.layers.base import Layer


class Flatten(Layer):
    """Keep the batch axis, join all the others."""

    default_name = "flatten"

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        self._saved = x.shape if keep else None
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, input_gradient=True):
        x_shape = self.saved()
        dy = self.check_gradient(dy)
        return dy.reshape(x_shape) if input_gradient else None
