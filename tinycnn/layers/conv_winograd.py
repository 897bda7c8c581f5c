"""Conv2D's passes for 3x3 kernels with stride 1 by Winograd's F(4x4, 3x3) (see tinycnn.winograd).

Like the im2col passes, these run a chunk of images at a time, so that the transformed tiles and
their matrix products are read back from the cache; the fused blocks (tinycnn.fusion) use them
through the same `forward_chunks` / `backward_chunks` interface:

    forward, per chunk:  V = B^T d B (kept for backward);  M[p] = V[p] @ U[p];  y = A^T M A
    backward, per chunk: Z = A dy A^T;  dU[p] += V[p]^T @ Z[p];  dx = sum of B (Z[p] @ U[p]^T) B^T
    after the chunks:    dkernel = G^T dU G

The chunks run on chunk workers (tinycnn.workers), one core per chunk; each worker sums its own
dU and bias gradient, and the workers' sums are added at the end.

Inputs whose padded size is not 4*T + 2 (or with "same" padding) are copied into a zero-padded
buffer first; the extra rows of the input gradient are cropped away again.
"""

import numpy as np

from tinycnn import kernels, winograd, workers

# Matrix products per chunk of images: within one core's L2 cache (8 images here; measured on the
# reference network, chunks of 8 images ran faster than of 4 or 16).
CHUNK_BYTES = 3 * 2**20
TILE_SUM = 7  # the transformed position that holds each gradient tile's sum (see backward_chunks)


class WinogradPasses:
    """The forward and backward passes of one Conv2D layer (built) by Winograd's algorithm."""

    def __init__(self, conv):
        self.conv = conv
        self.tiles_h, self.tiles_w = winograd.tiles(*conv.output_shape[:2])
        self.tiles_per_image = self.tiles_h * self.tiles_w
        self.padded_h, self.padded_w = winograd.padded_input_size(self.tiles_h, self.tiles_w)
        height, width, self.channels = conv.input_shape
        exact = (height, width) == (self.padded_h, self.padded_w)
        self.needs_padding = conv.pad_top > 0 or conv.pad_left > 0 or not exact

    def chunks(self, n_images):
        """(start, stop) image ranges whose products take about CHUNK_BYTES each, the same number
        for each worker, and the most images a chunk holds."""
        per_image = winograd.POSITIONS * self.tiles_per_image * self.conv.filters * self.conv.dtype.itemsize
        chunks = workers.split(n_images, CHUNK_BYTES // per_image, workers.count())
        return chunks, max(stop - start for start, stop in chunks)

    def _buffer(self, name, n_images, width, worker=0):
        """A (36, n_images' tiles, width) workspace array, the worker's own."""
        shape = (winograd.POSITIONS, n_images * self.tiles_per_image, width)
        return self.conv.workspace.get(f"{name} {worker}", shape, self.conv.dtype)

    def _tiles(self, start, stop):
        return slice(start * self.tiles_per_image, stop * self.tiles_per_image)

    def _padded(self, images, worker):
        """images (n, H, W, C) as the (n, 4*TH + 2, 4*TW + 2, C) array the tiles read."""
        if not self.needs_padding:
            return images
        padded = self._padding_buffer(len(images), worker)
        padded.fill(0)
        padded[:, self._unpadded_rows, self._unpadded_columns] = images
        return padded

    def _padding_buffer(self, n_images, worker):
        conv = self.conv
        shape = (n_images, self.padded_h, self.padded_w, self.channels)
        return conv.workspace.get(f"padded {worker}", shape, conv.dtype)

    @property
    def _unpadded_rows(self):
        return slice(self.conv.pad_top, self.conv.pad_top + self.conv.input_shape[0])

    @property
    def _unpadded_columns(self):
        return slice(self.conv.pad_left, self.conv.pad_left + self.conv.input_shape[1])

    def forward_chunks(self, x, target, finish, keep):
        """See Conv2D.forward_chunks; when `keep`, the transformed inputs stay for backward."""
        out_h, out_w, filters = self.conv.output_shape

        def finish_products(worker, start, stop, products):
            y_chunk = target(worker, start, stop)
            images = y_chunk.reshape(stop - start, out_h, out_w, filters)
            kernels.winograd_output_transform(products, self.tiles_h, self.tiles_w, images)
            finish(worker, start, stop, y_chunk)

        self._forward(x, keep, finish_products)

    def forward_relu_pool(self, x, keep, pooled, argmax):
        """The layer, its bias, a ReLU and a 2x2 max-pool with stride 2 (tinycnn.fusion's
        ConvReLUPool): pooled and argmax (N, PH, PW, C_out) filled, one kernel per chunk after the
        products, so the full-size activations are never written."""
        bias = self.conv.params["bias"]

        def relu_pool(worker, start, stop, products):
            kernels.winograd_output_relu_pool(
                products, self.tiles_h, self.tiles_w, bias, pooled[start:stop], argmax[start:stop]
            )

        self._forward(x, keep, relu_pool)

    def _forward(self, x, keep, finish_products):
        """On chunk workers: the products M[p] = V[p] @ U[p] (36, chunk's tiles, C_out) of each
        chunk, handed to finish_products(worker, start, stop, M); when `keep`, every chunk's V
        goes into one array (at the chunk's own tiles), kept for backward."""
        n_images = x.shape[0]
        transformed_kernel = winograd.transform_kernel(self.conv.params["kernel"])
        chunks, chunk_images = self.chunks(n_images)

        def transformed_input(worker):
            if keep:
                return self._buffer("kept_transformed_input", n_images, self.channels)
            return self._buffer("transformed_input", chunk_images, self.channels, worker)

        def chunk(worker, start, stop, first):
            transformed = transformed_input(worker)
            tiles = self._tiles(start, stop) if keep else self._tiles(0, stop - start)
            kernels.winograd_input_transform(
                self._padded(x[start:stop], worker), self.tiles_h, self.tiles_w, transformed, tiles.start
            )
            products = self._buffer("products", stop - start, self.conv.filters, worker)
            np.matmul(transformed[:, tiles], transformed_kernel, out=products)
            finish_products(worker, start, stop, products)

        workers.run(chunks, chunk)
        self.kept = (transformed_input(0), transformed_kernel) if keep else None

    def backward_chunks(self, x, kept, gradient_of, input_gradient, pooled_gradient=None):
        """See Conv2D.backward_chunks; `kept` is what forward kept. After `forward_relu_pool`,
        `pooled_gradient` is (dL/dpooled, pooled, argmax), each (N, PH, PW, C_out): the gradient
        transform then builds dy from them (the ReLU's mask is pooled > 0 at each window's
        winner) and `gradient_of` is not called.

        The bias gradient, the sum of dy, is read off the transformed gradient: row 1 of A is all
        ones, so Z at position 7 (i = j = 1) is the sum of its tile's 16 gradients."""
        conv = self.conv
        transformed, transformed_kernel = kept
        out_h, out_w, filters = conv.output_shape
        kernel_transposed = transformed_kernel.transpose(0, 2, 1)
        gradient_shape = (winograd.POSITIONS, filters, self.channels)
        kernel_sums = workers.Sums(conv.workspace, "kernel_gradient", gradient_shape, conv.dtype)
        bias_sums = workers.Sums(conv.workspace, "bias_gradient", (filters,), conv.dtype)
        dx = np.empty(x.shape, conv.dtype) if input_gradient else None
        chunks, chunk_images = self.chunks(x.shape[0])
        ones = conv.workspace.get("ones", (chunk_images * self.tiles_per_image,), conv.dtype)
        ones.fill(1)

        def chunk(worker, start, stop, first):
            tiles, count = self._tiles(start, stop), (stop - start) * self.tiles_per_image
            output_gradient = self._buffer("output_gradient", stop - start, filters, worker)
            if pooled_gradient is None:
                dy_images = gradient_of(worker, start, stop).reshape(stop - start, out_h, out_w, filters)
                kernels.winograd_gradient_transform(dy_images, self.tiles_h, self.tiles_w, output_gradient)
            else:
                chunk_of_pool = [array[start:stop] for array in pooled_gradient]
                kernels.winograd_pooled_gradient_transform(
                    *chunk_of_pool, self.tiles_h, self.tiles_w, output_gradient
                )
            # dU^T[p] = Z[p]^T @ V[p]: (C_out, C_in), the faster operand order for OpenBLAS here.
            kernel_sums.add_product(worker, first, output_gradient.transpose(0, 2, 1), transformed[:, tiles])
            bias_sums.add_product(worker, first, ones[:count], output_gradient[TILE_SUM])
            if input_gradient:
                self._input_gradient(output_gradient, kernel_transposed, dx, start, stop, worker)

        used = workers.run(chunks, chunk)
        conv.grads["bias"][...] = bias_sums.total(used)
        winograd.kernel_gradient(kernel_sums.total(used), conv.grads["kernel"])
        return dx

    def _input_gradient(self, output_gradient, kernel_transposed, dx, start, stop, worker):
        """dx[start:stop] = the sum of B (Z[p] @ U[p]^T) B^T over the chunk's tiles."""
        input_gradient_tiles = self._buffer("input_gradient", stop - start, self.channels, worker)
        np.matmul(output_gradient, kernel_transposed, out=input_gradient_tiles)
        if self.needs_padding:
            padded = self._padding_buffer(stop - start, worker)
            kernels.winograd_input_gradient(input_gradient_tiles, self.tiles_h, self.tiles_w, padded)
            dx[start:stop] = padded[:, self._unpadded_rows, self._unpadded_columns]
        else:
            kernels.winograd_input_gradient(input_gradient_tiles, self.tiles_h, self.tiles_w, dx[start:stop])
