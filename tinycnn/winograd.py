"""Winograd's minimal filtering F(4x4, 3x3): a 3x3 convolution with 4x fewer multiplications.

A 3x3 convolution with stride 1 computes each 4x4 block of outputs from a 6x6 tile of inputs.
Done directly that is 4*4*9 = 144 multiplications per tile and channel pair; Winograd's
algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) does it
with 36, by moving tile and kernel into a space where the convolution is an elementwise product:

    y_tile = A^T [ (G g G^T) * (B^T d B) ] A        d: a 6x6 input tile, g: the 3x3 kernel
                                                     *: elementwise, over the 36 positions

B^T (6x6), G (6x3) and A^T (4x6) below are built from the interpolation points 0, +-1, +-2 and
infinity. Summed over input channels, the elementwise product at each of the 36 positions is a
matrix product, so a whole layer becomes 36 GEMMs of (tiles, C_in) @ (C_in, C_out) -- the same
BLAS the im2col path uses, with 4x fewer multiply-adds (the transforms are additions and small
constant multiples, one pass over memory each).

Backward is the exact adjoint of these linear maps, written with the same three matrices:

    Z      = A dy_tile A^T                          (6x6: the output gradient, transformed)
    dU[p]  = V[p]^T @ Z[p]   ->  dkernel = G^T dU G  (V: the transformed input tiles, kept)
    dV[p]  = Z[p] @ U[p]^T   ->  dx_tile = B dV B^T, overlapping tiles summed

With exact arithmetic the results equal the direct convolution's; in float32 they differ by
rounding, about 1e-6 of the outputs' magnitude (larger than im2col's, because the transforms
add terms of mixed sign; it is the algorithm cuDNN and oneDNN use for the same reason).

Shapes (NHWC): x (N, H, W, C_in) padded to (N, 4*TH + 2, 4*TW + 2, C_in) where TH = ceil(OH / 4),
TW = ceil(OW / 4); tiles are numbered t = (n*TH + th)*TW + tw; V (36, N*TH*TW, C_in),
U (36, C_in, C_out), M = V @ U (36, N*TH*TW, C_out), y (N, OH, OW, C_out).
"""

import math

import numpy as np

TILE = 4  # outputs per tile side
INPUT_TILE = TILE + 2  # a 3x3 kernel reads 6x6 inputs for 4x4 outputs
POSITIONS = INPUT_TILE * INPUT_TILE  # 36 transformed positions

INPUT_TRANSFORM = np.array(  # B^T
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    np.float64,
)
KERNEL_TRANSFORM = np.array(  # G
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    np.float64,
)
OUTPUT_TRANSFORM = np.array(  # A^T
    [
        [1, 1, 1, 1, 1, 0],
        [0, 1, -1, 2, -2, 0],
        [0, 1, 1, 4, 4, 0],
        [0, 1, -1, 8, -8, 1],
    ],
    np.float64,
)


def tiles(out_h, out_w):
    """(TH, TW): 4x4 output tiles covering an (out_h, out_w) output (the last ones cropped)."""
    return math.ceil(out_h / TILE), math.ceil(out_w / TILE)


def padded_input_size(tiles_h, tiles_w):
    """(rows, columns) of input the tiles read: 4*T + 2 along each axis."""
    return TILE * tiles_h + 2, TILE * tiles_w + 2


def transform_kernel(kernel):
    """U[p] = (G g G^T) at position p for every (C_in, C_out) pair: (3, 3, C_in, C_out) ->
    (36, C_in, C_out), computed in float64 (two small matrix products) and returned in the
    kernel's dtype."""
    g = KERNEL_TRANSFORM
    rows = (g @ kernel.reshape(3, -1).astype(np.float64)).reshape(INPUT_TILE, 3, -1)  # G g: (6, 3, C*F)
    both = np.matmul(g, rows)  # (G g) G^T, for each row i: (6, 6, C*F)
    return both.reshape(POSITIONS, *kernel.shape[2:]).astype(kernel.dtype)


def kernel_gradient(transformed_gradient, out):
    """dkernel = G^T dU G, from dU^T (36, C_out, C_in) into out (3, 3, C_in, C_out)."""
    g = KERNEL_TRANSFORM
    filters, channels = transformed_gradient.shape[1:]
    positions = transformed_gradient.reshape(INPUT_TILE, -1).astype(np.float64)
    rows = (g.T @ positions).reshape(3, INPUT_TILE, -1)  # G^T dU: (3, 6, C_out*C_in)
    both = np.matmul(g.T, rows)  # (G^T dU) G, for each row k: (3, 3, C_out*C_in)
    out[...] = both.reshape(3, 3, filters, channels).transpose(0, 1, 3, 2)
    return out
