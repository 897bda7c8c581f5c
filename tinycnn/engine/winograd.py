"""A 3x3, stride-1 Conv2D layer by Winograd's F(4x4, 3x3) (the maths: tinycnn.winograd), a chunk
of images at a time, on chunk workers.

    forward, per chunk:  V = B^T d B (kept for backward);  M[p] = V[p] @ U[p];  finish(M)
    backward, per chunk: Z = A dy A^T;  dU[p] += V[p]^T @ Z[p];  dx = sum of B (Z[p] @ U[p]^T) B^T
    after the chunks:    dkernel = G^T dU G

`finish` turns a chunk's products into outputs: the output transform y = A^T M A and the bias,
or (tinycnn.engine.convolution's fused step with a 2x2 pool) the output transform, bias, ReLU and
pool in one kernel. Like the im2col passes, a chunk's transformed tiles and products are read back
from the cache; each worker sums its own dU and bias gradient, and the workers' sums are added at
the end.

Inputs whose padded size is not 4*T + 2 (or with "same" padding) are copied into a zero-padded
buffer first; the extra rows of the input gradient are cropped away again.
"""

import numpy as np

from tinycnn import winograd
from tinycnn.engine import workers
from tinycnn.kernels import (
    winograd_gradient_transform_into,
    winograd_input_gradient_into,
    winograd_input_transform_into,
    winograd_output_relu_pool_into,
    winograd_output_transform_into,
    winograd_pooled_gradient_transform_into,
)

# The kernels these passes run: batches that never run Winograd need none of them compiled.
KERNELS = (
    winograd_input_transform_into,
    winograd_output_transform_into,
    winograd_output_relu_pool_into,
    winograd_gradient_transform_into,
    winograd_pooled_gradient_transform_into,
    winograd_input_gradient_into,
)
# Matrix products per chunk of images: within one core's L2 cache (8 images here; measured on the
# reference network, chunks of 8 images ran faster than of 4 or 16).
CHUNK_BYTES = 3 * 2**20
TILE_SUM = 7  # the transformed position that holds each gradient tile's sum (see backward)


def applies(conv):
    """True when Winograd's F(4x4, 3x3) can compute this Conv2D: a 3x3 kernel with stride 1."""
    return conv.kernel_size == (3, 3) and conv.strides == (1, 1)


class WinogradPasses:
    """Forward and backward of one built 3x3 stride-1 Conv2D by Winograd, buffers in `workspace`."""

    name = "Winograd F(4x4, 3x3)"

    def __init__(self, conv, workspace):
        self.conv, self.workspace = conv, workspace
        geometry = conv.geometry
        self.tiles_h, self.tiles_w = winograd.tiles(geometry.out_h, geometry.out_w)
        self.tiles_per_image = self.tiles_h * self.tiles_w
        self.padded_h, self.padded_w = winograd.padded_input_size(self.tiles_h, self.tiles_w)
        height, width, self.channels = conv.input_shape
        exact = (height, width) == (self.padded_h, self.padded_w)
        self.needs_padding = geometry.pad_top > 0 or geometry.pad_left > 0 or not exact
        self.unpadded = (
            slice(geometry.pad_top, geometry.pad_top + height),
            slice(geometry.pad_left, geometry.pad_left + width),
        )

    def chunks(self, n_images, worker_count):
        """(start, stop) image ranges whose products take about CHUNK_BYTES each, the same number
        for each worker."""
        per_image = winograd.POSITIONS * self.tiles_per_image * self.conv.filters * self.conv.dtype.itemsize
        return workers.split(n_images, CHUNK_BYTES // per_image, worker_count)

    def _buffer(self, name, n_images, width, worker=0):
        """A (36, n_images' tiles, width) workspace array, the worker's own."""
        shape = (winograd.POSITIONS, n_images * self.tiles_per_image, width)
        return self.workspace.get(f"{name} {worker}", shape, self.conv.dtype)

    def _tiles(self, start, stop):
        return slice(start * self.tiles_per_image, stop * self.tiles_per_image)

    def _padding_buffer(self, n_images, worker):
        shape = (n_images, self.padded_h, self.padded_w, self.channels)
        return self.workspace.get(f"padded {worker}", shape, self.conv.dtype)

    def _padded(self, images, worker):
        """images (n, H, W, C) as the (n, 4*TH + 2, 4*TW + 2, C) array the tiles read."""
        if not self.needs_padding:
            return images
        padded = self._padding_buffer(len(images), worker)
        padded.fill(0)
        padded[:, self.unpadded[0], self.unpadded[1]] = images
        return padded

    def forward(self, x, target, finish, keep, worker_count):
        """For each chunk of images: y = x convolved with the kernel (no bias) written into
        `target(worker, start, stop)`, (rows, C_out); then `finish(worker, start, stop, that
        array)`. Returns what backward needs when `keep` (else None)."""
        geometry, filters = self.conv.geometry, self.conv.filters

        def output_transform(worker, start, stop, products):
            y_chunk = target(worker, start, stop)
            images = y_chunk.reshape(stop - start, geometry.out_h, geometry.out_w, filters)
            winograd_output_transform_into(products, self.tiles_h, self.tiles_w, images)
            finish(worker, start, stop, y_chunk)

        return self._forward(x, keep, output_transform, worker_count)

    def forward_relu_pool(self, x, keep, pooled, argmax, worker_count):
        """The layer, its bias, a ReLU and a 2x2 max-pool with stride 2: pooled and argmax (N, PH,
        PW, C_out) filled, one kernel per chunk after the products, so the full-size activations
        are never written. Returns what backward needs when `keep` (else None)."""
        bias = self.conv.params["bias"]

        def relu_pool(worker, start, stop, products):
            winograd_output_relu_pool_into(
                products, self.tiles_h, self.tiles_w, bias, pooled[start:stop], argmax[start:stop]
            )

        return self._forward(x, keep, relu_pool, worker_count)

    def _forward(self, x, keep, finish_products, worker_count):
        """On chunk workers: the products M[p] = V[p] @ U[p] (36, chunk's tiles, C_out) of each
        chunk, handed to finish_products(worker, start, stop, M); when `keep`, every chunk's V
        goes into one array (at the chunk's own tiles), kept for backward."""
        n_images = x.shape[0]
        transformed_kernel = winograd.transform_kernel(self.conv.params["kernel"])
        chunks = self.chunks(n_images, worker_count)
        largest = max(stop - start for start, stop in chunks)

        def transformed_input(worker):
            if keep:
                return self._buffer("kept_transformed_input", n_images, self.channels)
            return self._buffer("transformed_input", largest, self.channels, worker)

        def chunk(worker, start, stop, first):
            transformed = transformed_input(worker)
            tiles = self._tiles(start, stop) if keep else self._tiles(0, stop - start)
            winograd_input_transform_into(
                self._padded(x[start:stop], worker), self.tiles_h, self.tiles_w, transformed, tiles.start
            )
            products = self._buffer("products", stop - start, self.conv.filters, worker)
            np.matmul(transformed[:, tiles], transformed_kernel, out=products)
            finish_products(worker, start, stop, products)

        workers.run(chunks, chunk, worker_count)
        return (transformed_input(0), transformed_kernel) if keep else None

    def backward(self, x, kept, gradient_of, input_gradient, worker_count, pooled_gradient=None):
        """Fill the layer's grads and return dL/dx (or None); `kept`: what forward returned;
        `gradient_of(worker, start, stop)`: the (rows, C_out) gradient dL/dy of each chunk. After
        `forward_relu_pool`, `pooled_gradient` is (dL/dpooled, pooled, argmax), each (N, PH, PW,
        C_out): the gradient transform then builds dy from them (the ReLU's mask is pooled > 0
        at each window's winner) and `gradient_of` is not called.

        The bias gradient, the sum of dy, is read off the transformed gradient: row 1 of A is all
        ones, so Z at position 7 (i = j = 1) is the sum of its tile's 16 gradients."""
        conv = self.conv
        transformed, transformed_kernel = kept
        geometry, filters = conv.geometry, conv.filters
        kernel_transposed = transformed_kernel.transpose(0, 2, 1)
        gradient_shape = (winograd.POSITIONS, filters, self.channels)
        kernel_sums = workers.Sums(self.workspace, "kernel_gradient", gradient_shape, conv.dtype)
        bias_sums = workers.Sums(self.workspace, "bias_gradient", (filters,), conv.dtype)
        dx = np.empty(x.shape, conv.dtype) if input_gradient else None
        chunks = self.chunks(x.shape[0], worker_count)
        largest = max(stop - start for start, stop in chunks)
        ones = self.workspace.get("ones", (largest * self.tiles_per_image,), conv.dtype)
        ones.fill(1)

        def chunk(worker, start, stop, first):
            tiles, count = self._tiles(start, stop), (stop - start) * self.tiles_per_image
            output_gradient = self._buffer("output_gradient", stop - start, filters, worker)
            if pooled_gradient is None:
                dy_images = gradient_of(worker, start, stop).reshape(
                    stop - start, geometry.out_h, geometry.out_w, filters
                )
                winograd_gradient_transform_into(dy_images, self.tiles_h, self.tiles_w, output_gradient)
            else:
                chunk_of_pool = [array[start:stop] for array in pooled_gradient]
                winograd_pooled_gradient_transform_into(
                    *chunk_of_pool, self.tiles_h, self.tiles_w, output_gradient
                )
            # dU^T[p] = Z[p]^T @ V[p]: (C_out, C_in), the faster operand order for OpenBLAS here.
            kernel_sums.add_product(worker, first, output_gradient.transpose(0, 2, 1), transformed[:, tiles])
            bias_sums.add_product(worker, first, ones[:count], output_gradient[TILE_SUM])
            if input_gradient:
                self._input_gradient(output_gradient, kernel_transposed, dx, start, stop, worker)

        used = workers.run(chunks, chunk, worker_count)
        conv.grads["bias"][...] = bias_sums.total(used)
        winograd.kernel_gradient(kernel_sums.total(used), conv.grads["kernel"])
        return dx

    def _input_gradient(self, output_gradient, kernel_transposed, dx, start, stop, worker):
        """dx[start:stop] = the sum of B (Z[p] @ U[p]^T) B^T over the chunk's tiles."""
        input_gradient_tiles = self._buffer("input_gradient", stop - start, self.channels, worker)
        np.matmul(output_gradient, kernel_transposed, out=input_gradient_tiles)
        if self.needs_padding:
            padded = self._padding_buffer(stop - start, worker)
            winograd_input_gradient_into(input_gradient_tiles, self.tiles_h, self.tiles_w, padded)
            dx[start:stop] = padded[:, self.unpadded[0], self.unpadded[1]]
        else:
            winograd_input_gradient_into(input_gradient_tiles, self.tiles_h, self.tiles_w, dx[start:stop])
