"""A Conv2D layer by im2col + GEMM, a chunk of images at a time, on chunk workers.

The layer's own passes (tinycnn/layers/conv.py) unfold the whole batch at once: for the
reference network's second convolution that is 85 MB of patches per batch of 128, far more than
the CPU's caches, so every byte goes to main memory and back several times. Here a chunk of about
CHUNK_BYTES of patches and outputs stays in the cache from im2col to the matrix product that reads
it:

    forward, per chunk:  cols = im2col(x[chunk]);  y[chunk] = cols @ kernel_matrix;  finish(y[chunk])
    backward, per chunk: cols = im2col(x[chunk]) again (cheap, from the cache), or the kept patches;
                         dkernel += cols.T @ dy;  dbias += ones @ dy;  dx[chunk] = col2im(dy @ kernel_matrix.T)

A batch whose patches are small (the first convolution's, 3 MB) keeps them from forward to
backward instead of unfolding them again. The chunks run on chunk workers (tinycnn.engine.workers),
each summing its own kernel and bias gradients. The arithmetic is the layer's; only the order of
the sums changes. `finish` lets a fused step (tinycnn.engine.convolution) add the bias, the ReLU
and the pool while a chunk is still in the cache.
"""

import numpy as np

from tinycnn.engine import workers
from tinycnn.kernels import col2im_into, im2col_into

CHUNK_BYTES = 4 * 2**20  # unfolded patches and outputs per chunk: well inside a server CPU's L2 + L3
KEEP_COLS_BYTES = 4 * 2**20  # a batch's patches up to this size are kept from forward to backward


class Im2colPasses:
    """Forward and backward of one built Conv2D by chunked im2col + GEMM, buffers in `workspace`."""

    name = "im2col+GEMM"

    def __init__(self, conv, workspace):
        self.conv, self.workspace = conv, workspace
        self.rows = conv.geometry.out_h * conv.geometry.out_w  # output positions per image
        self.patch_size = conv.geometry.kernel_h * conv.geometry.kernel_w * conv.input_shape[2]

    def chunks(self, n_images, worker_count):
        """(start, stop) image ranges whose patches and outputs take about CHUNK_BYTES each, the
        same number for each worker."""
        per_image = self.rows * (self.patch_size + self.conv.filters) * self.conv.dtype.itemsize
        return workers.split(n_images, CHUNK_BYTES // per_image, worker_count)

    def keeps_patches(self, n_images):
        """True when a batch's patches take at most KEEP_COLS_BYTES (the first convolution's, 3 MB):
        then they unfold into one array, kept from forward to backward."""
        return n_images * self.rows * self.patch_size * self.conv.dtype.itemsize <= KEEP_COLS_BYTES

    def _cols(self, n_images, start, stop, worker):
        """Where the patches of images start..stop go, (rows, KH*KW*C_in): their rows of the kept
        array, or the worker's chunk buffer."""
        if self.keeps_patches(n_images):
            kept = self.workspace.get("kept cols", (n_images * self.rows, self.patch_size), self.conv.dtype)
            return kept[start * self.rows : stop * self.rows]
        shape = ((stop - start) * self.rows, self.patch_size)
        return self.workspace.get(f"cols {worker}", shape, self.conv.dtype)

    def _unfold(self, x, start, stop, worker):
        cols = self._cols(x.shape[0], start, stop, worker)
        im2col_into(x[start:stop], *self.conv.geometry, cols)
        return cols

    def forward(self, x, target, finish, worker_count):
        """For each chunk of images: y = x convolved with the kernel (no bias), written into
        `target(worker, start, stop)`, a (rows, C_out) array the worker owns; then
        `finish(worker, start, stop, that array)`. x: C-contiguous (N, H, W, C_in)."""
        kernel_matrix = self.conv.params["kernel"].reshape(-1, self.conv.filters)

        def chunk(worker, start, stop, first):
            y_chunk = target(worker, start, stop)
            np.matmul(self._unfold(x, start, stop, worker), kernel_matrix, out=y_chunk)
            finish(worker, start, stop, y_chunk)

        workers.run(self.chunks(x.shape[0], worker_count), chunk, worker_count)

    def backward(self, x, gradient_of, input_gradient, worker_count):
        """Fill the layer's grads and return dL/dx (or None) from `gradient_of(worker, start,
        stop)`, the (rows, C_out) gradient dL/dy of each chunk of images (the worker's own buffer,
        or a slice of one array). x: what forward was given."""
        conv, dtype = self.conv, self.conv.dtype
        kernel_matrix = conv.params["kernel"].reshape(-1, conv.filters)
        kernel_sums = workers.Sums(self.workspace, "kernel_gradient", kernel_matrix.shape, dtype)
        bias_sums = workers.Sums(self.workspace, "bias_gradient", (conv.filters,), dtype)
        dx = np.empty(x.shape, dtype) if input_gradient else None
        chunks = self.chunks(x.shape[0], worker_count)
        largest = max(stop - start for start, stop in chunks)
        ones = self.workspace.get("ones", (largest * self.rows,), dtype)
        ones.fill(1)
        patches_kept = self.keeps_patches(x.shape[0])

        def chunk(worker, start, stop, first):
            if patches_kept:  # forward's patches are still in the workspace
                cols = self._cols(x.shape[0], start, stop, worker)
            else:
                cols = self._unfold(x, start, stop, worker)
            dy_chunk = gradient_of(worker, start, stop)
            kernel_sums.add_product(worker, first, cols.T, dy_chunk)
            bias_sums.add_product(worker, first, ones[: len(dy_chunk)], dy_chunk)  # a sum over rows
            if input_gradient:
                dcols = np.matmul(dy_chunk, kernel_matrix.T, out=cols)  # this chunk's cols are used up
                col2im_into(dcols, *conv.geometry, dx[start:stop])

        used = workers.run(chunks, chunk, worker_count)
        conv.grads["kernel"][...] = kernel_sums.total(used).reshape(conv.params["kernel"].shape)
        conv.grads["bias"][...] = bias_sums.total(used)
        return dx
