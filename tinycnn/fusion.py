"""Fused execution: Conv2D -> ReLU (-> MaxPool2D) run as one pass over each chunk of images.

Layer by layer, a convolution writes its whole output to memory, the ReLU reads it and writes a
new array, the max-pool reads that, and backward does the same in reverse: for the reference
network's second convolution that is 19 MB per array per pass, far more than the caches hold.
`Sequential` therefore runs these runs of layers as one block, a chunk of images at a time
(the chunks Conv2D uses for its unfolded patches, each on one core: tinycnn.workers), while the
chunk is still in the cache:

    forward, per chunk:  y = im2col(x) @ kernel;  y = max(y + bias, 0)  (one pass, in place);  pool(y)
                         (by Winograd: see ConvReLUPool)
    backward, per chunk: dy = route(dpool * [pooled > 0]) to each window's winner;  Conv2D's backward

The pooled value is the ReLU of the window's winner, so `pooled > 0` is exactly the ReLU's
gradient mask at the positions the pool routes to: the block never keeps the full activation.
The arithmetic is the layers' own, in the same order: results equal the unfused layers' (the
tests check it), and each layer keeps its own forward/backward for use on its own.
Set TINYCNN_FUSE=0 to run every layer on its own (to compare, or to step through one).
"""

import os

import numpy as np

from tinycnn import kernels
from tinycnn.layers import Conv2D, MaxPool2D, ReLU


def enabled():
    return os.environ.get("TINYCNN_FUSE", "1").strip() not in ("0", "false", "no")


def plan(layers):
    """The steps that run `layers`: each layer itself, or a fused block standing for several."""
    if not enabled():
        return list(layers)
    steps, index = [], 0
    while index < len(layers):
        ahead = layers[index : index + 3]
        if len(ahead) >= 2 and isinstance(ahead[0], Conv2D) and isinstance(ahead[1], ReLU):
            if len(ahead) == 3 and isinstance(ahead[2], MaxPool2D):
                steps.append(ConvReLUPool(*ahead))
                index += 3
                continue
            steps.append(ConvReLU(*ahead[:2]))
            index += 2
            continue
        steps.append(layers[index])
        index += 1
    return steps


class FusedBlock:
    """Shared bookkeeping: the block's layers, what forward kept, the gradient check."""

    def __init__(self, *layers):
        self.layers = layers
        self.conv, self.last = layers[0], layers[-1]
        self._saved = None

    def _begin(self, x):
        x = np.ascontiguousarray(self.conv.check_input(x))
        for layer in self.layers:
            layer._saved = None  # a layer's own backward needs its own forward
            layer._batch_size = x.shape[0]
        return x

    def _take_saved(self, dy):
        if self._saved is None:
            raise RuntimeError(f"fused {self}: backward needs a forward(..., keep=True) first")
        saved, self._saved = self._saved, None
        return saved, self.last.check_gradient(dy)

    def _rows(self):
        out_h, out_w, _ = self.conv.output_shape
        return out_h * out_w

    def __repr__(self):
        return " -> ".join(layer.describe() for layer in self.layers)


class ConvReLU(FusedBlock):
    """Conv2D then ReLU: the ReLU runs in place on each chunk of the convolution's output."""

    def forward(self, x, training=False, keep=True):
        x = self._begin(x)
        n_images, rows = x.shape[0], self._rows()
        y = np.empty((n_images * rows, self.conv.filters), self.conv.dtype)
        bias = self.conv.params["bias"]

        def bias_relu(worker, start, stop, y_chunk):
            kernels.bias_relu_forward(y_chunk, bias, y_chunk)

        self.conv.forward_chunks(
            x, lambda worker, start, stop: y[start * rows : stop * rows], bias_relu, keep
        )
        self._saved = (x, self.conv.kept, y) if keep else None  # as a layer: each forward replaces it
        return y.reshape(n_images, *self.conv.output_shape)

    def backward(self, dy, input_gradient=True):
        (x, kept, y), dy = self._take_saved(dy)
        conv, rows, dy = self.conv, self._rows(), dy.reshape(y.shape)

        def gradient_of(worker, start, stop):
            chunk = slice(start * rows, stop * rows)
            masked = conv.workspace.get(f"masked {worker}", ((stop - start) * rows, conv.filters), conv.dtype)
            kernels.relu_backward(y[chunk], dy[chunk], masked)
            return masked

        return self.conv.backward_chunks(x, kept, gradient_of, input_gradient)


class ConvReLUPool(FusedBlock):
    """Conv2D, ReLU, MaxPool2D: only the pooled maxima and their positions leave the cache.

    When the convolution runs by Winograd and the pool is 2x2 with stride 2 (the reference
    network), each 4x4 output tile holds exactly four pooling windows: one kernel turns a tile's
    products into pooled maxima (output transform, bias, ReLU, pool), and backward builds each
    gradient tile from the pool's gradient as it transforms it, so the full-size activations and
    their gradient are never written at all.
    """

    def _activations(self, worker, start, stop):
        """The worker's buffer for the (rows, C_out) activations of images start..stop."""
        shape = ((stop - start) * self._rows(), self.conv.filters)
        return self.conv.workspace.get(f"activations {worker}", shape, self.conv.dtype)

    def _pools_tiles(self):
        return self.last.pool_size == (2, 2) and self.last.strides == (2, 2)

    def _all_in_one(self, n_images):
        """True when this batch runs by Winograd with a pool that tiles its 4x4 output tiles."""
        return self._pools_tiles() and self.conv.algorithm_in_use(n_images) == "winograd"

    def forward(self, x, training=False, keep=True):
        x = self._begin(x)
        conv, pool = self.conv, self.last
        n_images = x.shape[0]
        pooled = np.empty((n_images, *pool.output_shape), conv.dtype)
        argmax = pool.workspace.get("argmax", pooled.shape, np.int32)
        if self._all_in_one(n_images):
            conv.forward_relu_pool(x, keep, pooled, argmax)
            self._saved = (x, conv.kept, pooled, argmax) if keep else None
            return pooled

        def relu_pool(worker, start, stop, y_chunk):
            kernels.bias_relu_forward(y_chunk, conv.params["bias"], y_chunk)
            images = y_chunk.reshape(stop - start, *conv.output_shape)
            kernels.maxpool_forward(
                images, *pool.pool_size, *pool.strides, pooled[start:stop], argmax[start:stop]
            )

        conv.forward_chunks(x, self._activations, relu_pool, keep)
        self._saved = (x, conv.kept, pooled, argmax) if keep else None
        return pooled

    def backward(self, dy, input_gradient=True):
        (x, kept, pooled, argmax), dpool = self._take_saved(dy)
        conv, pool = self.conv, self.last
        if kept[0] == "winograd" and self._pools_tiles():
            pooled_gradient = (dpool, pooled, argmax)
            return conv.backward_chunks(x, kept, None, input_gradient, pooled_gradient=pooled_gradient)
        routed = dpool * (pooled > 0)  # the ReLU's mask at each window's winner

        def gradient_of(worker, start, stop):
            out = self._activations(worker, start, stop)
            images = out.reshape(stop - start, *conv.output_shape)
            kernels.maxpool_backward(
                routed[start:stop], argmax[start:stop], *pool.pool_size, *pool.strides, images
            )
            return out

        return conv.backward_chunks(x, kept, gradient_of, input_gradient)
