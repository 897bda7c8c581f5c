"""ReLU: y = max(x, 0); the gradient passes where the output is positive.

Forward:   y  = max(x, 0)
Backward:  dx = dy * [y > 0]
At exactly x = 0 the gradient is taken as 0, as PyTorch and TensorFlow do. Shapes: any -> the same.
The plain loops: `tinycnn.reference.relu_forward` and `relu_backward`.
"""

import numpy as np

from tinycnn.layers.base import Layer


class ReLU(Layer):
    """Rectified linear unit."""

    default_name = "re_lu"

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        y = np.maximum(x, 0)
        self._saved = y if keep else None
        return y

    def backward(self, dy, input_gradient=True):
        y = self.saved()
        dy = self.check_gradient(dy)
        if not input_gradient:
            return None
        return dy * (y > 0)
