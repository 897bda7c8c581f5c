"""The steps of a plan: what the engine runs for one layer, or for a fused run of layers.

Every step has the layer contract (tinycnn.layers.base): `forward(x, training, keep)` returns a
fresh array and, if `keep`, remembers what `backward(dy, input_gradient)` needs; each forward
serves one backward. A step keeps that itself: it never writes a layer's private state, and uses
a layer only through its public API (configuration, `params`, `grads`, `forward`/`backward`).

    LayerStep     a layer as written: its own forward and backward
    ReLUStep      ReLU by a threaded kernel (one pass over memory)
    MaxPoolStep   MaxPool2D with its argmax kept in the step's workspace
    DropoutStep   Dropout drawing the layer's mask, applied by one kernel per pass
(the convolutions: tinycnn.engine.convolution)
"""

import numpy as np

from tinycnn.engine.workspace import Workspace
from tinycnn.errors import ShapeError
from tinycnn.kernels import (
    dropout_apply_into,
    maxpool_backward_into,
    maxpool_forward_into,
    relu_backward_into,
    relu_forward_into,
)
from tinycnn.layers.dropout import keep_threshold, sixteen_bit_draws


class Step:
    """Bookkeeping shared by the steps: their layers, what forward kept, the gradient check."""

    def __init__(self, *layers):
        self.layers = layers
        self.first, self.last = layers[0], layers[-1]
        self._kept = None

    @property
    def dtype(self):
        return self.first.dtype

    def forward(self, x, training=False, keep=True):
        raise NotImplementedError

    def backward(self, dy, input_gradient=True):
        raise NotImplementedError

    def how(self, batch_size, current):
        """How this step runs a batch of `batch_size` images under the Settings `current`: a phrase
        for the plan."""
        raise NotImplementedError

    def forget(self):
        """Drop what the last forward kept (a new forward elsewhere in the model replaces it)."""
        self._kept = None

    def _input(self, x):
        return np.ascontiguousarray(x, dtype=self.dtype)

    def _keep(self, keep, n_images, *what):
        self._kept = (n_images, *what) if keep else None

    def _take_kept(self, dy):
        """(what forward kept..., dy checked and C-contiguous); consumes what was kept."""
        if self._kept is None:
            raise RuntimeError(
                f"{self}: backward needs a forward(..., keep=True) first (and each forward serves one backward)"
            )
        (n_images, *kept), self._kept = self._kept, None
        expected = (n_images, *self.last.output_shape)
        if not isinstance(dy, np.ndarray) or dy.shape != expected:
            got = tuple(dy.shape) if isinstance(dy, np.ndarray) else type(dy).__name__
            raise ShapeError(
                f"{self}: backward expected a gradient of shape {expected} (the last forward's output), got {got}"
            )
        return (*kept, np.ascontiguousarray(dy, dtype=self.dtype))

    def __repr__(self):
        return " -> ".join(layer.describe() for layer in self.layers)


class LayerStep(Step):
    """A layer as written: its own forward and backward (it keeps its own state)."""

    def forward(self, x, training=False, keep=True):
        return self.first.forward(x, training=training, keep=keep)

    def backward(self, dy, input_gradient=True):
        return self.first.backward(dy, input_gradient=input_gradient)

    def forget(self):
        pass  # the layer's own forward replaces what it kept

    def how(self, batch_size, current):
        return "as written"


class ReLUStep(Step):
    """ReLU in one threaded pass: y = max(x, 0), dx = dy * [y > 0]."""

    def forward(self, x, training=False, keep=True):
        x = self._input(x)
        y = np.empty_like(x)
        relu_forward_into(x, y)
        self._keep(keep, len(x), y)
        return y

    def backward(self, dy, input_gradient=True):
        y, dy = self._take_kept(dy)
        if not input_gradient:
            return None
        dx = np.empty_like(dy)
        relu_backward_into(y, dy, dx)
        return dx

    def how(self, batch_size, current):
        return "ReLU kernel"


class MaxPoolStep(Step):
    """MaxPool2D by the pooling kernels, its argmax in the step's workspace."""

    def __init__(self, pool):
        super().__init__(pool)
        self.workspace = Workspace()

    def forward(self, x, training=False, keep=True):
        x, pool = self._input(x), self.first
        y = np.empty((len(x), *pool.output_shape), self.dtype)
        argmax = self.workspace.get("argmax", y.shape, np.int32)
        maxpool_forward_into(x, *pool.pool_size, *pool.strides, y, argmax)
        self._keep(keep, len(x), argmax)
        return y

    def backward(self, dy, input_gradient=True):
        argmax, dy = self._take_kept(dy)
        if not input_gradient:
            return None
        pool = self.first
        dx = np.empty((len(dy), *pool.input_shape), self.dtype)
        maxpool_backward_into(dy, argmax, *pool.pool_size, *pool.strides, dx)
        return dx

    def how(self, batch_size, current):
        return "max-pool kernels"


class DropoutStep(Step):
    """Dropout with the layer's own generator and draws (the same masks as the layer), applied as
    one kernel per pass: compare, scale, write. The mask is kept as its 16-bit draws."""

    def forward(self, x, training=False, keep=True):
        layer = self.first
        if not training or layer.rate == 0.0:
            self._keep(keep, len(x), None)
            return x
        draws = sixteen_bit_draws(layer.rng, x.shape)
        self._keep(keep, len(x), draws)
        return self._apply(self._input(x), draws)

    def backward(self, dy, input_gradient=True):
        draws, dy = self._take_kept(dy)
        if not input_gradient:
            return None
        return dy if draws is None else self._apply(dy, draws)

    def _apply(self, values, draws):
        layer = self.first
        out = np.empty(values.shape, self.dtype)
        dropout_apply_into(values, draws, keep_threshold(layer.rate), layer.scale, out)
        return out

    def how(self, batch_size, current):
        return "dropout kernel (mask kept as 16-bit draws)"
