"""ReLU: y = max(x, 0); the gradient passes where the output is positive (dx = dy * [y > 0]).

At exactly x = 0 the gradient is taken as 0, as PyTorch and TensorFlow do. Shapes: any -> the same.
"""

import numpy as np

from tinycnn import kernels
from tinycnn.layers.base import Layer


class ReLU(Layer):
    """Rectified linear unit."""

    default_name = "re_lu"

    def forward(self, x, training=False, keep=True):
        x = np.ascontiguousarray(self.check_input(x))
        y = np.empty_like(x)
        kernels.relu_forward(x, y)  # one parallel pass; the NumPy twin is np.maximum(x, 0)
        self._saved = y if keep else None
        return y

    def backward(self, dy, input_gradient=True):
        y = self.saved()
        dy = self.check_gradient(dy)
        if not input_gradient:
            return None
        dx = np.empty_like(dy)
        kernels.relu_backward(y, dy, dx)  # the NumPy twin is dy * (y > 0)
        return dx
