"""Conv2D: a 2-D convolution (cross-correlation, as in every framework) computed as im2col + GEMM.

Shapes (NHWC):
    x      (N, H, W, C_in)
    kernel (KH, KW, C_in, C_out), bias (C_out,)
    y      (N, OH, OW, C_out)
    "valid": OH = (H - KH) // SH + 1
    "same":  OH = ceil(H / SH), zeros padded as TensorFlow does: pad_total = max((OH - 1) * SH + KH
             - H, 0) rows, pad_total // 2 on top and the rest (one more when odd) at the bottom.
    (and the same for widths.)

Forward:   cols = im2col(x)                      (N*OH*OW, KH*KW*C_in)
           y    = cols @ kernel_matrix + bias     kernel_matrix: (KH*KW*C_in, C_out)
Backward:  dkernel = cols.T @ dy,  dbias = sum of dy over N, OH, OW
           dx      = col2im(dy @ kernel_matrix.T)

Both passes run a few images at a time: unfolded, the second convolution's input is 85 MB per
batch of 128, far larger than the CPU's caches, so unfolding the whole batch at once would send
every one of those bytes to main memory and back several times. A chunk of about CHUNK_BYTES
stays in the cache from im2col to the matrix product that reads it; backward unfolds each chunk
again (cheap, from the cache) instead of keeping the whole unfolded batch, and sums the chunks'
kernel gradients. A batch whose patches are small (the first convolution's, 3 MB) keeps them
from forward to backward instead. The chunks run on chunk workers (tinycnn.workers), one core
per chunk. The arithmetic is the same; only the order changes.
The bias gradient, a sum over N*OH*OW rows, is one matrix-vector product (BLAS) with a vector of ones.

3x3 kernels with stride 1 over at least WINOGRAD_MIN_CHANNELS input channels (the reference
network's second convolution), in batches of at least WINOGRAD_MIN_IMAGES, run by Winograd's
F(4x4, 3x3) instead (tinycnn.winograd,
tinycnn/layers/conv_winograd.py): the same result up to float rounding, with 4x fewer
multiply-adds and no unfolded patches. `algorithm="im2col"` or "winograd" picks one for a layer;
the environment variable TINYCNN_CONV_ALGORITHM does it for every layer left at "auto".
"""

import math
import os

import numpy as np

from tinycnn import initializers, kernels, workers
from tinycnn.errors import ShapeError
from tinycnn.kernels.workspace import Workspace
from tinycnn.layers.base import Layer, format_shape
from tinycnn.layers.conv_winograd import WinogradPasses

PADDINGS = ("valid", "same")
ALGORITHMS = ("auto", "im2col", "winograd")
CHUNK_BYTES = 4 * 2**20  # unfolded patches and outputs per chunk: well inside a server CPU's L2 + L3
KEEP_COLS_BYTES = 4 * 2**20  # a batch's patches up to this size are kept from forward to backward
# Below this many input channels the 36 products of Winograd's algorithm are too thin for BLAS
# (the first convolution has one channel: im2col's single product is faster there), and below
# this many images its 36 small products and its transforms cost more than they save (measured:
# the reference network's second convolution breaks even at 8 images; one image, the widget's
# case, takes 0.6 ms by im2col and 1.9 ms by Winograd).
WINOGRAD_MIN_CHANNELS = 8
WINOGRAD_MIN_IMAGES = 8


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
        self.algorithm = algorithm
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "Conv2D: kernel_size")
        self.strides = pair(strides, "Conv2D: strides")
        self.padding = padding
        self.kernel_initializer = kernel_initializer
        self.workspace = Workspace()
        self._winograd = None
        self.kept = None

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
        out_h, self.pad_top = conv_output_size(height, kernel_h, stride_h, self.padding)
        out_w, self.pad_left = conv_output_size(width, kernel_w, stride_w, self.padding)
        return out_h, out_w, self.filters

    def create_params(self, rng, dtype):
        self._winograd = None  # made for the built shapes on first use
        kernel_shape = (*self.kernel_size, self.input_shape[2], self.filters)
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)(kernel_shape, rng, dtype),
            "bias": np.zeros(self.filters, dtype),
        }

    def _geometry(self):
        return (*self.kernel_size, *self.strides, self.pad_top, self.pad_left, *self.output_shape[:2])

    def winograd_applies(self):
        """True when Winograd's F(4x4, 3x3) can compute this layer (3x3 kernel, stride 1)."""
        return self.kernel_size == (3, 3) and self.strides == (1, 1)

    def algorithm_in_use(self, n_images=WINOGRAD_MIN_IMAGES):
        """The algorithm, "im2col" or "winograd", for a batch of n_images: the layer's own choice,
        else TINYCNN_CONV_ALGORITHM, else the rule in the module docstring."""
        choice = self.algorithm
        if choice == "auto":
            choice = os.environ.get("TINYCNN_CONV_ALGORITHM", "auto").strip().lower() or "auto"
            if choice not in ALGORITHMS:
                raise ValueError(f"TINYCNN_CONV_ALGORITHM must be one of {ALGORITHMS}, got {choice!r}")
        if choice == "auto":
            wide = self.input_shape[2] >= WINOGRAD_MIN_CHANNELS and n_images >= WINOGRAD_MIN_IMAGES
            choice = "winograd" if wide else "im2col"
        if choice == "winograd" and not self.winograd_applies():
            if self.algorithm == "winograd":
                raise ValueError(
                    f"{self.describe()}: algorithm='winograd' needs a 3x3 kernel with stride 1, "
                    f"got kernel {self.kernel_size} and strides {self.strides}"
                )
            choice = "im2col"
        return choice

    def _winograd_passes(self):
        if self._winograd is None:
            self._winograd = WinogradPasses(self)
        return self._winograd

    def forward_relu_pool(self, x, keep, pooled, argmax):
        """By Winograd only: the layer, its bias, a ReLU and a 2x2 max-pool with stride 2 in one
        pass per chunk (tinycnn.fusion's ConvReLUPool), into pooled and argmax (N, PH, PW, C_out).
        Afterwards, when `keep`, `self.kept` holds what `backward_chunks` needs."""
        passes = self._winograd_passes()
        passes.forward_relu_pool(x, keep, pooled, argmax)
        if keep:
            self.kept = ("winograd", passes.kept)

    def _patch_size(self):
        return self.kernel_size[0] * self.kernel_size[1] * self.input_shape[2]

    def _chunks(self, n_images):
        """(start, stop) image ranges whose unfolded patches and outputs take about CHUNK_BYTES
        each, the same number for each worker, and the most images a chunk holds."""
        out_h, out_w, _ = self.output_shape
        per_image = out_h * out_w * (self._patch_size() + self.filters) * self.dtype.itemsize
        chunks = workers.split(n_images, CHUNK_BYTES // per_image, workers.count())
        return chunks, max(stop - start for start, stop in chunks)

    def _cols_are_kept(self, n_images):
        """True when a batch's patches take at most KEEP_COLS_BYTES (the first convolution's,
        3 MB): then they unfold into one array, kept from forward to backward."""
        rows = self.output_shape[0] * self.output_shape[1]
        return n_images * rows * self._patch_size() * self.dtype.itemsize <= KEEP_COLS_BYTES

    def _cols(self, n_images, start, stop, worker):
        """Where the patches of images start..stop go, (rows, KH*KW*C_in): their rows of the kept
        array, or the worker's chunk buffer."""
        rows, patch_size = self.output_shape[0] * self.output_shape[1], self._patch_size()
        if self._cols_are_kept(n_images):
            kept = self.workspace.get("kept cols", (n_images * rows, patch_size), self.dtype)
            return kept[start * rows : stop * rows]
        return self.workspace.get(f"cols {worker}", ((stop - start) * rows, patch_size), self.dtype)

    def _unfold(self, x, start, stop, worker):
        """im2col of images start..stop into `_cols`: (rows, KH*KW*C_in)."""
        cols = self._cols(x.shape[0], start, stop, worker)
        kernels.im2col(x[start:stop], *self._geometry(), cols)
        return cols

    def forward(self, x, training=False, keep=True):
        x = np.ascontiguousarray(self.check_input(x))
        n_images = x.shape[0]
        out_h, out_w, filters = self.output_shape
        rows = out_h * out_w
        y = np.empty((n_images * rows, filters), self.dtype)

        def add_bias(worker, start, stop, y_chunk):
            y_chunk += self.params["bias"]  # while the chunk is still in the cache

        self.forward_chunks(x, lambda worker, start, stop: y[start * rows : stop * rows], add_bias, keep)
        self._saved = (x, self.kept) if keep else None
        return y.reshape(n_images, out_h, out_w, filters)

    def backward(self, dy, input_gradient=True):
        x, kept = self.saved()
        dy = self.check_gradient(dy).reshape(-1, self.filters)
        rows = self.output_shape[0] * self.output_shape[1]
        return self.backward_chunks(
            x, kept, lambda worker, start, stop: dy[start * rows : stop * rows], input_gradient
        )

    # --- the two passes, a chunk of images at a time (fused blocks in tinycnn.fusion use these) ---
    def chunk_images(self, n_images):
        """How many images each chunk of a batch of n_images holds (at most)."""
        if self.algorithm_in_use(n_images) == "winograd":
            return self._winograd_passes().chunks(n_images)[1]
        return self._chunks(n_images)[1]

    def forward_chunks(self, x, target, finish, keep=True):
        """For each chunk of images, on chunk workers (tinycnn.workers): y = x convolved with the
        kernel (no bias), written into `target(worker, start, stop)`, a (rows, C_out) array; then
        `finish(worker, start, stop, that array)`, so that the caller adds the bias (and a fused
        block its ReLU) while the chunk is still in the cache. Buffers the two return or write
        must be the worker's own. x must be C-contiguous. Afterwards, when `keep`, `self.kept`
        holds what `backward_chunks` needs."""
        if self.algorithm_in_use(x.shape[0]) == "winograd":
            passes = self._winograd_passes()
            passes.forward_chunks(x, target, finish, keep)
            self.kept = ("winograd", passes.kept) if keep else None
            return
        kernel_matrix = self.params["kernel"].reshape(-1, self.filters)

        def chunk(worker, start, stop, first):
            y_chunk = target(worker, start, stop)
            np.matmul(self._unfold(x, start, stop, worker), kernel_matrix, out=y_chunk)
            finish(worker, start, stop, y_chunk)

        workers.run(self._chunks(x.shape[0])[0], chunk)
        self.kept = ("im2col", self._cols_are_kept(x.shape[0])) if keep else None

    def backward_chunks(self, x, kept, gradient_of, input_gradient=True, pooled_gradient=None):
        """Fill `grads` and return dL/dx (or None) from `gradient_of(worker, start, stop)`, the
        (rows, C_out) gradient dL/dy of each chunk of images (the worker's own buffer, or a slice
        of one array); `kept`: what forward_chunks left in `self.kept` (`pooled_gradient`: see
        WinogradPasses.backward_chunks). The chunks run on chunk workers, each summing its own
        kernel and bias gradients."""
        algorithm, kept = kept
        if algorithm == "winograd":
            passes = self._winograd_passes()
            return passes.backward_chunks(x, kept, gradient_of, input_gradient, pooled_gradient)
        cols_kept = kept
        kernel_matrix = self.params["kernel"].reshape(-1, self.filters)
        kernel_sums = workers.Sums(self.workspace, "kernel_gradient", kernel_matrix.shape, self.dtype)
        bias_sums = workers.Sums(self.workspace, "bias_gradient", (self.filters,), self.dtype)
        dx = np.empty(x.shape, self.dtype) if input_gradient else None
        chunks, chunk_images = self._chunks(x.shape[0])
        rows = self.output_shape[0] * self.output_shape[1]
        ones = self.workspace.get("ones", (chunk_images * rows,), self.dtype)
        ones.fill(1)

        def chunk(worker, start, stop, first):
            if cols_kept:  # forward's patches are still in the workspace
                cols = self._cols(x.shape[0], start, stop, worker)
            else:
                cols = self._unfold(x, start, stop, worker)
            dy_chunk = gradient_of(worker, start, stop)
            kernel_sums.add_product(worker, first, cols.T, dy_chunk)
            bias_sums.add_product(worker, first, ones[: len(dy_chunk)], dy_chunk)  # a sum over rows
            if input_gradient:
                dcols = np.matmul(dy_chunk, kernel_matrix.T, out=cols)  # this chunk's cols are used up
                kernels.col2im(dcols, *self._geometry(), dx[start:stop])

        used = workers.run(chunks, chunk)
        self.grads["kernel"][...] = kernel_sums.total(used).reshape(self.grads["kernel"].shape)
        self.grads["bias"][...] = bias_sums.total(used)
        return dx

    def get_config(self):
        return {
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "kernel_initializer": self.kernel_initializer,
            **({"algorithm": self.algorithm} if self.algorithm != "auto" else {}),
        }
