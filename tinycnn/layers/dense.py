"""Dense: a fully connected layer.

Shapes: x (N, D_in), kernel (D_in, units), bias (units,) -> y (N, units).
Forward:  y = x @ kernel + bias
Backward: dkernel = x.T @ dy,  dbias = sum of dy over N,  dx = dy @ kernel.T
The plain loops: `tinycnn.reference.dense_forward` and `dense_backward`.
"""

import numpy as np

from tinycnn import initializers
from tinycnn.errors import ShapeError
from tinycnn.layers.base import Layer


class Dense(Layer):
    """y = x @ kernel + bias with `units` outputs."""

    default_name = "dense"

    def __init__(self, units, kernel_initializer="glorot_uniform", name=None):
        super().__init__(name)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        initializers.get(kernel_initializer)
        self.units = int(units)
        self.kernel_initializer = kernel_initializer

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ShapeError(
                f"{self.describe()}: expects flat vectors (N, D), got per-example shape "
                f"{input_shape} (put a Flatten before it)"
            )
        return (self.units,)

    def parameter_shapes(self, input_shape):
        return {"kernel": (input_shape[0], self.units), "bias": (self.units,)}

    def create_params(self, rng, dtype):
        shapes = self.parameter_shapes(self.input_shape)
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)(shapes["kernel"], rng, dtype),
            "bias": np.zeros(shapes["bias"], dtype),
        }

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        y = x @ self.params["kernel"] + self.params["bias"]
        self._saved = x if keep else None
        return y

    def backward(self, dy, input_gradient=True):
        x = self.saved()
        dy = self.check_gradient(dy)
        self.grads["kernel"] = x.T @ dy
        self.grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["kernel"].T if input_gradient else None

    def get_config(self):
        return {"units": self.units, "kernel_initializer": self.kernel_initializer}
