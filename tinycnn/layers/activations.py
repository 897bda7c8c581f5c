"""Activations, element by element (shapes: any -> the same).

ReLU: y = max(x, 0); the gradient passes where the output is positive.
    Forward:   y  = max(x, 0)
    Backward:  dx = dy * [y > 0]
    At exactly x = 0 the gradient is taken as 0, as PyTorch and TensorFlow do.
    The plain loops: `tinycnn.reference.relu_forward` and `relu_backward`.

Sigmoid: y = 1 / (1 + e^-x), squashing any input into (0, 1); the activation of the 1980s and
1990s networks, kept here to compare with ReLU (its gradient is at most 1/4 and vanishes for large
|x|, which is why deep sigmoid networks train slowly).
    Forward:   y  = 1 / (1 + e^-x), computed as e^-log(1 + e^-x) so that no exp overflows
    Backward:  dx = dy * y * (1 - y)
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


class Sigmoid(Layer):
    """The logistic sigmoid."""

    default_name = "sigmoid"

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        y = np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)
        self._saved = y if keep else None
        return y

    def backward(self, dy, input_gradient=True):
        y = self.saved()
        dy = self.check_gradient(dy)
        if not input_gradient:
            return None
        return dy * y * (1 - y)
