"""The convolution step: a Conv2D, and the ReLU and MaxPool2D after it, as one pass per chunk.

Layer by layer, a convolution writes its whole output to memory, the ReLU reads it and writes a
new array, the max-pool reads that, and backward does the same in reverse: for the reference
network's second convolution that is 19 MB per array per pass, far more than the caches hold.
This step runs Conv2D -> ReLU (-> MaxPool2D) a chunk of images at a time instead, each chunk on
one core (tinycnn.engine.workers), while it is in the cache:

    forward, per chunk:  y = conv(x) (im2col + GEMM, or Winograd);  y = max(y + bias, 0);  pool(y)
    backward, per chunk: dy = route(dpool * [pooled > 0]) to each window's winner;  the conv's backward

The pooled value is the ReLU of the window's winner, so `pooled > 0` is exactly the ReLU's
gradient mask at the positions the pool routes to: the step never keeps the full activation.
By Winograd with a 2x2 pool of stride 2 (the reference network), each 4x4 output tile holds
exactly four pooling windows: one kernel turns a tile's products into pooled maxima (output
transform, bias, ReLU, pool), and backward builds each gradient tile from the pool's gradient as
it transforms it, so the full-size activations and their gradient are never written at all.

A Conv2D alone (or with the ReLU only) is this step too, with less to do per chunk. The
arithmetic is the layers' own: results equal running the layers one by one up to float rounding
(tests check it).

Which algorithm: the layer's `algorithm`, else the `conv_algorithm` setting, else Winograd's for
3x3 stride-1 kernels over at least WINOGRAD_MIN_CHANNELS input channels in batches of at least
WINOGRAD_MIN_IMAGES images, im2col + GEMM otherwise.
"""

import numpy as np

from tinycnn import settings
from tinycnn.engine import winograd
from tinycnn.engine.im2col import Im2colPasses
from tinycnn.engine.steps import Step
from tinycnn.engine.winograd import WinogradPasses
from tinycnn.engine.workspace import Workspace
from tinycnn.kernels import (
    bias_relu_forward_into,
    maxpool_backward_into,
    maxpool_forward_into,
    relu_backward_into,
)

# Below this many input channels the 36 products of Winograd's algorithm are too thin for BLAS
# (the first convolution has one channel: im2col's single product is faster there), and below
# this many images its 36 small products and its transforms cost more than they save (measured:
# the reference network's second convolution breaks even at 8 images; one image, the drawing
# app's case, takes 0.6 ms by im2col and 1.9 ms by Winograd).
WINOGRAD_MIN_CHANNELS = 8
WINOGRAD_MIN_IMAGES = 8


def choose_algorithm(conv, n_images, setting):
    """ "im2col" or "winograd" for a batch of n_images: the layer's `algorithm`, else `setting`
    (tinycnn.settings' conv_algorithm), else the rule in the module docstring."""
    choice = conv.algorithm if conv.algorithm != "auto" else setting
    if choice == "auto":
        wide = conv.input_shape[2] >= WINOGRAD_MIN_CHANNELS and n_images >= WINOGRAD_MIN_IMAGES
        choice = "winograd" if wide else "im2col"
    if choice == "winograd" and not winograd.applies(conv):
        choice = "im2col"  # the setting asks for every layer; this one cannot
    return choice


class ConvolutionStep(Step):
    """Conv2D, optionally followed by its ReLU and a MaxPool2D (only after a ReLU), fused."""

    def __init__(self, conv, relu=None, pool=None):
        if pool is not None and relu is None:
            raise ValueError("ConvolutionStep: a pool is fused only after a ReLU")
        super().__init__(*(layer for layer in (conv, relu, pool) if layer is not None))
        self.conv, self.relu, self.pool = conv, relu, pool
        self.workspace = Workspace()
        self.passes = {"im2col": Im2colPasses(conv, self.workspace)}
        if winograd.applies(conv):
            self.passes["winograd"] = WinogradPasses(conv, self.workspace)

    @property
    def fused(self):
        return len(self.layers) > 1

    def _all_in_one(self, algorithm):
        """True when the pool is 2x2 with stride 2 after a convolution by Winograd: the output
        transform, bias, ReLU and pool are one kernel."""
        pool = self.pool
        return algorithm == "winograd" and pool is not None and pool.pool_size == pool.strides == (2, 2)

    # --- forward --------------------------------------------------------------------------
    def forward(self, x, training=False, keep=True):
        x = self._input(x)
        current = settings.current()
        algorithm = choose_algorithm(self.conv, len(x), current.conv_algorithm)
        passes, worker_count = self.passes[algorithm], current.workers
        if self.pool is not None:
            return self._forward_pooled(x, keep, algorithm, passes, worker_count)
        conv, rows = self.conv, self._rows()
        y = np.empty((len(x) * rows, conv.filters), self.dtype)
        bias = conv.params["bias"]

        def rows_of(worker, start, stop):
            return y[start * rows : stop * rows]

        def finish(worker, start, stop, y_chunk):  # while the chunk is still in the cache
            if self.relu is not None:
                bias_relu_forward_into(y_chunk, bias, y_chunk)
            else:
                y_chunk += bias

        kept = self._run_forward(passes, x, rows_of, finish, keep, worker_count)
        self._keep(keep, len(x), x, algorithm, worker_count, kept, y)
        return y.reshape(len(x), *self.last.output_shape)

    def _forward_pooled(self, x, keep, algorithm, passes, worker_count):
        conv, pool = self.conv, self.pool
        pooled = np.empty((len(x), *pool.output_shape), self.dtype)
        argmax = self.workspace.get("argmax", pooled.shape, np.int32)
        if self._all_in_one(algorithm):
            kept = passes.forward_relu_pool(x, keep, pooled, argmax, worker_count)
        else:

            def relu_pool(worker, start, stop, y_chunk):
                bias_relu_forward_into(y_chunk, conv.params["bias"], y_chunk)
                images = y_chunk.reshape(stop - start, *conv.output_shape)
                maxpool_forward_into(
                    images, *pool.pool_size, *pool.strides, pooled[start:stop], argmax[start:stop]
                )

            kept = self._run_forward(passes, x, self._activations, relu_pool, keep, worker_count)
        self._keep(keep, len(x), x, algorithm, worker_count, kept, (pooled, argmax))
        return pooled

    @staticmethod
    def _run_forward(passes, x, target, finish, keep, worker_count):
        if isinstance(passes, WinogradPasses):
            return passes.forward(x, target, finish, keep, worker_count)
        passes.forward(x, target, finish, worker_count)
        return None  # im2col keeps its patches in the workspace, or unfolds them again

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, input_gradient=True):
        x, algorithm, worker_count, kept, output, dy = self._take_kept(dy)
        passes = self.passes[algorithm]  # as forward ran it, on as many workers
        conv, rows = self.conv, self._rows()
        if self.pool is not None:
            pooled, argmax = output
            if self._all_in_one(algorithm):
                return passes.backward(
                    x, kept, None, input_gradient, worker_count, pooled_gradient=(dy, pooled, argmax)
                )
            routed = dy * (pooled > 0)  # the ReLU's mask at each window's winner
            pool = self.pool

            def gradient_of(worker, start, stop):
                out = self._activations(worker, start, stop)
                images = out.reshape(stop - start, *conv.output_shape)
                maxpool_backward_into(
                    routed[start:stop], argmax[start:stop], *pool.pool_size, *pool.strides, images
                )
                return out

        elif self.relu is not None:
            y, dy = output, dy.reshape(output.shape)

            def gradient_of(worker, start, stop):
                chunk = slice(start * rows, stop * rows)
                masked = self.workspace.get(
                    f"masked {worker}", ((stop - start) * rows, conv.filters), self.dtype
                )
                relu_backward_into(y[chunk], dy[chunk], masked)
                return masked

        else:
            dy = dy.reshape(-1, conv.filters)

            def gradient_of(worker, start, stop):
                return dy[start * rows : stop * rows]

        if isinstance(passes, WinogradPasses):
            return passes.backward(x, kept, gradient_of, input_gradient, worker_count)
        return passes.backward(x, gradient_of, input_gradient, worker_count)

    # --- helpers --------------------------------------------------------------------------
    def _rows(self):
        return self.conv.geometry.out_h * self.conv.geometry.out_w

    def _activations(self, worker, start, stop):
        """The worker's buffer for the (rows, C_out) activations of images start..stop."""
        shape = ((stop - start) * self._rows(), self.conv.filters)
        return self.workspace.get(f"activations {worker}", shape, self.dtype)

    def how(self, batch_size, current):
        algorithm = choose_algorithm(self.conv, batch_size, current.conv_algorithm)
        passes = self.passes[algorithm]
        chunks = passes.chunks(batch_size, current.workers)
        largest = max(stop - start for start, stop in chunks)
        used = min(current.workers, len(chunks))
        if self._all_in_one(algorithm):
            finish = "output transform, bias, ReLU and 2x2 max-pool in one kernel"
        elif self.pool is not None:
            finish = "bias, ReLU and max-pool on each chunk"
        elif self.relu is not None:
            finish = "bias and ReLU on each chunk"
        else:
            finish = "bias on each chunk"
        parts = [
            f"{'fused: ' if self.fused else ''}{passes.name}",
            finish,
            f"{_count(len(chunks), 'chunk')} of {_count(largest, 'image')} on {_count(used, 'worker')}",
        ]
        if algorithm == "im2col":
            parts.append(
                "patches kept for backward"
                if passes.keeps_patches(batch_size)
                else "patches unfolded again in backward"
            )
        return "; ".join(parts)


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"
