"""Conv2D's passes for 3x3 kernels with stride 1 by Winograd's F(4x4, 3x3) (see tinycnn.winograd).

Like the im2col passes, these run a chunk of images at a time, so that the transformed tiles and
their matrix products are read back from the cache; the fused blocks (tinycnn.fusion) use them
through the same `forward_chunks` / `backward_chunks` interface:

    forward, per chunk:  V = B^T d B (kept for backward);  M[p] = V[p] @ U[p];  y = A^T M A
    backward, per chunk: Z = A dy A^T;  dU[p] += V[p]^T @ Z[p];  dx = sum of B (Z[p] @ U[p]^T) B^T
    after the chunks:    dkernel = G^T dU G

Inputs whose padded size is not 4*T + 2 (or with "same" padding) are copied into a zero-padded
buffer first; the extra rows of the input gradient are cropped away again.
"""

import numpy as np

from tinycnn import kernels, winograd

CHUNK_BYTES = 8 * 2**20  # matrix products per chunk of images
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
        """(start, stop) image ranges whose products take about CHUNK_BYTES each, and the step."""
        per_image = winograd.POSITIONS * self.tiles_per_image * self.conv.filters * self.conv.dtype.itemsize
        step = max(1, min(n_images, CHUNK_BYTES // per_image))
        return [(start, min(start + step, n_images)) for start in range(0, n_images, step)], step

    def _buffer(self, name, n_images, width):
        """A (36, n_images' tiles, width) workspace array."""
        shape = (winograd.POSITIONS, n_images * self.tiles_per_image, width)
        return self.conv.workspace.get(name, shape, self.conv.dtype)

    def _padded(self, images):
        """images (n, H, W, C) as the (n, 4*TH + 2, 4*TW + 2, C) array the tiles read."""
        if not self.needs_padding:
            return images
        conv, (height, width, _) = self.conv, self.conv.input_shape
        padded = conv.workspace.get(
            "padded", (len(images), self.padded_h, self.padded_w, self.channels), conv.dtype
        )
        padded.fill(0)
        padded[:, conv.pad_top : conv.pad_top + height, conv.pad_left : conv.pad_left + width] = images
        return padded

    def forward_chunks(self, x, target, keep):
        """See Conv2D.forward_chunks; when `keep`, the transformed inputs stay for backward."""
        out_h, out_w, filters = self.conv.output_shape
        for start, stop, products in self._products(x, keep):
            y_chunk = target(start, stop)
            images = y_chunk.reshape(stop - start, out_h, out_w, filters)
            kernels.winograd_output_transform(products, self.tiles_h, self.tiles_w, images)
            yield start, stop, y_chunk

    def forward_relu_pool(self, x, keep, pooled, argmax):
        """The layer, its bias, a ReLU and a 2x2 max-pool with stride 2 (tinycnn.fusion's
        ConvReLUPool): pooled and argmax (N, PH, PW, C_out) filled, one kernel per chunk after the
        products, so the full-size activations are never written."""
        bias = self.conv.params["bias"]
        for start, stop, products in self._products(x, keep):
            kernels.winograd_output_relu_pool(
                products, self.tiles_h, self.tiles_w, bias, pooled[start:stop], argmax[start:stop]
            )

    def _products(self, x, keep):
        """For each chunk of images: (start, stop, M) with M[p] = V[p] @ U[p] (36, tiles, C_out)."""
        n_images = x.shape[0]
        transformed_kernel = winograd.transform_kernel(self.conv.params["kernel"])
        chunks, chunk_images = self.chunks(n_images)
        if keep:
            transformed = self._buffer("kept_transformed_input", n_images, self.channels)
        else:
            transformed = self._buffer("transformed_input", chunk_images, self.channels)
        for start, stop in chunks:
            first_tile = start * self.tiles_per_image if keep else 0
            count = (stop - start) * self.tiles_per_image
            kernels.winograd_input_transform(
                self._padded(x[start:stop]), self.tiles_h, self.tiles_w, transformed, first_tile
            )
            products = self._buffer("products", stop - start, self.conv.filters)
            np.matmul(transformed[:, first_tile : first_tile + count], transformed_kernel, out=products)
            yield start, stop, products
        self.kept = (transformed, transformed_kernel) if keep else None

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
        transformed_gradient = conv.workspace.get("kernel_gradient", gradient_shape, conv.dtype)
        partial = conv.workspace.get("kernel_gradient_partial", gradient_shape, conv.dtype)
        bias_partial = conv.workspace.get("bias_partial", (filters,), conv.dtype)
        dx = np.empty(x.shape, conv.dtype) if input_gradient else None
        chunks, chunk_images = self.chunks(x.shape[0])
        ones = conv.workspace.get("ones", (chunk_images * self.tiles_per_image,), conv.dtype)
        ones.fill(1)
        height, width, _ = conv.input_shape
        for number, (start, stop) in enumerate(chunks):
            first_tile, count = start * self.tiles_per_image, (stop - start) * self.tiles_per_image
            output_gradient = self._buffer("output_gradient", stop - start, filters)
            if pooled_gradient is None:
                dy_chunk = gradient_of(start, stop)
                dy_images = dy_chunk.reshape(stop - start, out_h, out_w, filters)
                kernels.winograd_gradient_transform(dy_images, self.tiles_h, self.tiles_w, output_gradient)
            else:
                chunk_of_pool = [array[start:stop] for array in pooled_gradient]
                kernels.winograd_pooled_gradient_transform(
                    *chunk_of_pool, self.tiles_h, self.tiles_w, output_gradient
                )
            first = number == 0
            # dU^T[p] = Z[p]^T @ V[p]: (C_out, C_in), the faster operand order for OpenBLAS here.
            np.matmul(
                output_gradient.transpose(0, 2, 1),
                transformed[:, first_tile : first_tile + count],
                out=transformed_gradient if first else partial,
            )
            tile_sums = output_gradient[TILE_SUM]
            np.matmul(ones[:count], tile_sums, out=conv.grads["bias"] if first else bias_partial)
            if not first:
                transformed_gradient += partial
                conv.grads["bias"] += bias_partial
            if input_gradient:
                input_gradient_tiles = self._buffer("input_gradient", stop - start, self.channels)
                np.matmul(output_gradient, kernel_transposed, out=input_gradient_tiles)
                if self.needs_padding:
                    padded = conv.workspace.get(
                        "padded", (stop - start, self.padded_h, self.padded_w, self.channels), conv.dtype
                    )
                    kernels.winograd_input_gradient(input_gradient_tiles, self.tiles_h, self.tiles_w, padded)
                    dx[start:stop] = padded[
                        :, conv.pad_top : conv.pad_top + height, conv.pad_left : conv.pad_left + width
                    ]
                else:
                    kernels.winograd_input_gradient(
                        input_gradient_tiles, self.tiles_h, self.tiles_w, dx[start:stop]
                    )
        winograd.kernel_gradient(transformed_gradient, conv.grads["kernel"])
        return dx
