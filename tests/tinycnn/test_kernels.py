"""Every kernel's variants (its threaded Numba compilation and its NumPy twin; the serial
compilation against the threaded one), called directly, against the naive loops.

The dispatcher picks one variant per call, so these tests take the variants from each
`tinycnn.kernels.Kernel` themselves.
"""

import os

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinycnn import reference as ref
from tinycnn import winograd

from .helpers import KERNEL_MODULE_NAMES, assert_close, kernel_module

JIT_ENABLED = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0")

sizes = st.integers(1, 7)
small = st.integers(1, 3)


@st.composite
def window_geometry(draw):
    """(x_shape, kernel, strides, pad_top, pad_left, out_h, out_w) of a valid or "same" convolution."""
    n, h, w, c = draw(st.integers(1, 2)), draw(sizes), draw(sizes), draw(small)
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(small), draw(small))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        assume(h >= kernel[0] and w >= kernel[1])
    out_h, out_w, pad_top, pad_left = ref.conv_geometry(h, w, kernel, strides, padding)
    return (n, h, w, c), kernel, strides, pad_top, pad_left, out_h, out_w


@pytest.fixture(params=KERNEL_MODULE_NAMES)
def kernels(request):
    return kernel_module(request.param)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=window_geometry(), seed=st.integers(0, 2**32 - 1))
def test_im2col_matches_naive(module_name, geometry, seed):
    """im2col of each kernel module equals the naive element-by-element unfold (float64, exactly)."""
    kernels = kernel_module(module_name)
    x_shape, kernel, strides, pad_top, pad_left, out_h, out_w = geometry
    x = np.random.default_rng(seed).standard_normal(x_shape)
    expected = ref.im2col(x, kernel, strides, pad_top, pad_left, out_h, out_w)
    cols = np.full(expected.shape, np.nan)  # every element must be written, padding included
    kernels.im2col(x, *kernel, *strides, pad_top, pad_left, out_h, out_w, cols)
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=window_geometry(), seed=st.integers(0, 2**32 - 1))
def test_col2im_matches_naive(module_name, geometry, seed):
    """col2im of each kernel module equals the naive fold, overwriting whatever dx held before."""
    kernels = kernel_module(module_name)
    x_shape, kernel, strides, pad_top, pad_left, out_h, out_w = geometry
    rows, width = x_shape[0] * out_h * out_w, kernel[0] * kernel[1] * x_shape[3]
    cols = np.random.default_rng(seed).standard_normal((rows, width))
    expected = ref.col2im(cols, x_shape, kernel, strides, pad_top, pad_left, out_h, out_w)
    dx = np.full(x_shape, np.nan)  # garbage in the output must not leak into the result
    kernels.col2im(cols, *kernel, *strides, pad_top, pad_left, out_h, out_w, dx)
    assert_close(dx, expected, 1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=window_geometry(), seed=st.integers(0, 2**32 - 1))
def test_im2col_col2im_adjoint(module_name, geometry, seed):
    """<im2col(x), Y> == <x, col2im(Y)>: col2im is exactly the adjoint (transpose) of im2col."""
    kernels = kernel_module(module_name)
    x_shape, kernel, strides, pad_top, pad_left, out_h, out_w = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    y = rng.standard_normal((x_shape[0] * out_h * out_w, kernel[0] * kernel[1] * x_shape[3]))
    cols, folded = np.empty_like(y), np.empty_like(x)
    kernels.im2col(x, *kernel, *strides, pad_top, pad_left, out_h, out_w, cols)
    kernels.col2im(y, *kernel, *strides, pad_top, pad_left, out_h, out_w, folded)
    left, right = np.sum(cols * y), np.sum(x * folded)
    scale = np.sum(np.abs(cols * y)) + 1e-300
    assert abs(left - right) / scale < 1e-12


@st.composite
def pool_geometry(draw):
    """(x_shape, pool, strides) with the pool fitting the image; strides may overlap or skip."""
    n, h, w, c = draw(st.integers(1, 2)), draw(sizes), draw(sizes), draw(small)
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(small), draw(small))
    assume(h >= pool[0] and w >= pool[1])
    return (n, h, w, c), pool, strides


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=pool_geometry(), seed=st.integers(0, 2**32 - 1), ties=st.booleans())
def test_maxpool_matches_naive(module_name, geometry, seed, ties):
    """maxpool_forward/backward of each kernel module equal the naive loops (values, argmax, dx).

    With `ties`, inputs are small integers so windows often hold repeated maxima.
    """
    kernels = kernel_module(module_name)
    x_shape, pool, strides = geometry
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, x_shape).astype(np.float64) if ties else rng.standard_normal(x_shape)
    expected_y, expected_argmax = ref.maxpool_forward(x, pool, strides)
    y = np.full(expected_y.shape, np.nan)
    argmax = np.full(expected_y.shape, -1, np.int32)
    kernels.maxpool_forward(x, *pool, *strides, y, argmax)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(argmax, expected_argmax)
    dy = rng.standard_normal(y.shape)
    dx = np.full(x_shape, np.nan)
    kernels.maxpool_backward(dy, argmax, *pool, *strides, dx)
    assert_close(dx, ref.maxpool_backward(dy, expected_argmax, x_shape, pool, strides), 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_update_matches_naive(kernels, dtype):
    """adam_update of each kernel module equals the naive element loop, in place on param, m and v."""
    rng = np.random.default_rng(0)
    shape = (3, 5)
    param, m, v = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    v = np.abs(v)
    gradient = rng.standard_normal(shape).astype(dtype)
    expected = [array.copy() for array in (param, m, v)]
    scalars = [dtype(value) for value in (0.01, 1 - 0.9, 1 - 0.999, 1e-7)]  # alpha, 1-beta_1, 1-beta_2, eps
    ref.adam_update(*expected[:1], gradient, *expected[1:], *scalars)
    kernels.adam_update(param, gradient, m, v, *scalars)
    tolerance = 1e-14 if dtype == np.float64 else 1e-6
    for actual, wanted in zip((param, m, v), expected, strict=True):
        assert actual.dtype == dtype
        assert_close(actual, wanted, tolerance)


def test_kernels_float32(kernels):
    """The float32 variants of im2col and maxpool give the float64 naive results rounded to float32."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    out_h, out_w, pad_top, pad_left = ref.conv_geometry(5, 6, (3, 2), (2, 1), "same")
    cols = np.empty((2 * out_h * out_w, 3 * 2 * 3), np.float32)
    kernels.im2col(x, 3, 2, 2, 1, pad_top, pad_left, out_h, out_w, cols)
    np.testing.assert_array_equal(cols, ref.im2col(x, (3, 2), (2, 1), pad_top, pad_left, out_h, out_w))
    y = np.empty((2, 2, 3, 3), np.float32)
    argmax = np.empty((2, 2, 3, 3), np.int32)
    kernels.maxpool_forward(x, 2, 2, 2, 2, y, argmax)
    expected_y, expected_argmax = ref.maxpool_forward(x, 2, 2)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(argmax, expected_argmax)


@pytest.mark.parametrize(
    "module_name",
    [
        "numba",
        "numpy",
    ],
)
def test_adam_update_float32_is_computed_in_float32(module_name):
    """The float32 adam_update equals the naive float32 loop bit for bit (the Numba kernel's stated intent)."""
    kernels = kernel_module(module_name)
    rng = np.random.default_rng(0)
    param, m, v, gradient = (rng.standard_normal((50, 20)).astype(np.float32) for _ in range(4))
    v = np.abs(v)
    scalars = [
        np.float32(value) for value in (0.01 * np.sqrt(1 - 0.999) / (1 - 0.9), 1 - 0.9, 1 - 0.999, 1e-7)
    ]
    expected = [array.copy() for array in (param, m, v)]
    ref.adam_update(expected[0], gradient, expected[1], expected[2], *scalars)
    kernels.adam_update(param, gradient, m, v, *scalars)
    for name, actual, wanted in zip("pmv", (param, m, v), expected, strict=True):
        np.testing.assert_array_equal(actual, wanted, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_relu_kernels_match_naive(dtype, shape, seed):
    """relu_forward and relu_backward of each kernel module equal the naive loops, zeros included."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:: max(1, x.size // 3)] = 0.0  # exact zeros: the gradient there is 0
    dy = rng.standard_normal(shape).astype(dtype)
    for name in KERNEL_MODULE_NAMES:
        module = kernel_module(name)
        y, dx = np.full_like(x, np.nan), np.full_like(x, np.nan)
        module.relu_forward(x, y)
        module.relu_backward(y, dy, dx)
        np.testing.assert_array_equal(y, ref.relu_forward(x), err_msg=name)
        np.testing.assert_array_equal(dx, ref.relu_backward(x, dy), err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(rows=st.integers(1, 40), channels=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_bias_relu_kernel_matches_naive(dtype, rows, channels, seed):
    """bias_relu_forward of each kernel module is the naive ReLU of x + bias (bias along the last
    axis), bit for bit, in place or into another array."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, channels)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    x[0] = -bias  # x + bias exactly 0 on one row: ReLU gives 0 there
    expected = ref.relu_forward(x + bias)
    for name in KERNEL_MODULE_NAMES:
        module = kernel_module(name)
        out = np.full_like(x, np.nan)
        module.bias_relu_forward(x, bias, out)
        np.testing.assert_array_equal(out, expected, err_msg=name)
        in_place = x.copy()
        module.bias_relu_forward(in_place, bias, in_place)
        np.testing.assert_array_equal(in_place, expected, err_msg=f"{name}, in place")


@pytest.mark.skipif(not JIT_ENABLED, reason="the serial twins are Numba compilations")
def test_serial_twins_compute_exactly_what_the_parallel_kernels_do():
    """Small work runs each kernel's serial twin (see tinycnn.kernels.dispatch.SERIAL_BELOW): same
    loops, compiled without threads, so the results must be identical, bit for bit."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 9, 8, 4)).astype(np.float32)
    geometry = (3, 2, 1, 2, 1, 1, 8, 5)  # 3x2 kernel, strides (1, 2), padding top 1 left 1
    out_h, out_w = geometry[-2:]
    results = {}
    for suffix in ("", "_serial"):
        kernel = vars(kernel_module("serial" if suffix else "numba"))
        cols = np.empty((3 * out_h * out_w, 3 * 2 * 4), np.float32)
        kernel["im2col"](x, *geometry, cols)
        dx = np.empty_like(x)
        kernel["col2im"](cols, *geometry, dx)
        pooled, argmax = np.empty((3, 4, 4, 4), np.float32), np.empty((3, 4, 4, 4), np.int32)
        kernel["maxpool_forward"](x, 2, 2, 2, 2, pooled, argmax)
        pool_dx = np.empty_like(x)
        kernel["maxpool_backward"](pooled, argmax, 2, 2, 2, 2, pool_dx)
        relu, relu_dx = np.empty_like(x), np.empty_like(x)
        kernel["relu_forward"](x, relu)
        bias_relu = np.empty((3 * 9 * 8, 4), np.float32)
        kernel["bias_relu_forward"](x.reshape(-1, 4), x[0, 0, 0].copy(), bias_relu)
        kernel["relu_backward"](relu, x, relu_dx)
        param, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x)
        scalar = np.float32
        kernel["adam_update"](param, x, m, v, scalar(0.01), scalar(0.1), scalar(0.001), scalar(1e-7))
        padded = np.zeros((3, 10, 10, 4), np.float32)
        padded[:, :9, :8] = x
        transformed = np.empty((36, 3 * 4, 4), np.float32)
        kernel["winograd_input_transform"](padded, 2, 2, transformed, 0)
        winograd_y = np.empty((3, 7, 6, 4), np.float32)
        kernel["winograd_output_transform"](transformed, 2, 2, winograd_y)
        gradient_tiles = np.empty_like(transformed)
        kernel["winograd_gradient_transform"](winograd_y, 2, 2, gradient_tiles)
        winograd_dx = np.empty_like(padded)
        kernel["winograd_input_gradient"](gradient_tiles, 2, 2, winograd_dx)
        results[suffix] = (cols, dx, pooled, argmax, pool_dx, relu, bias_relu, relu_dx, param, m, v)
        fused_pooled, fused_argmax = np.empty((3, 3, 3, 4), np.float32), np.empty((3, 3, 3, 4), np.int32)
        kernel["winograd_output_relu_pool"](transformed, 2, 2, x[0, 0, 0].copy(), fused_pooled, fused_argmax)
        pooled_gradient_tiles = np.empty_like(transformed)
        kernel["winograd_pooled_gradient_transform"](
            fused_pooled, fused_pooled, fused_argmax, 2, 2, pooled_gradient_tiles
        )
        results[suffix] += (transformed, winograd_y, gradient_tiles, winograd_dx)
        results[suffix] += (fused_pooled, fused_argmax, pooled_gradient_tiles)
        dropped = np.empty_like(x)
        kernel["dropout_apply"](x, (np.abs(x) * 30000).astype(np.uint16), 20000, np.float32(1.5), dropped)
        results[suffix] += (dropped,)
    for parallel, serial in zip(results[""], results["_serial"], strict=True):
        np.testing.assert_array_equal(parallel, serial)


# --- Winograd F(4x4, 3x3): each transform against its matrix form, applied tile by tile ---------


@st.composite
def winograd_geometry(draw):
    """(n, tiles_h, tiles_w, channels, out_h, out_w): outputs that fill the last tiles or not."""
    n, tiles_h, tiles_w, channels = draw(st.integers(1, 2)), draw(small), draw(small), draw(small)
    out_h = draw(st.integers(4 * tiles_h - 3, 4 * tiles_h))
    out_w = draw(st.integers(4 * tiles_w - 3, 4 * tiles_w))
    return n, tiles_h, tiles_w, channels, out_h, out_w


def tile_index(n, th, tw, tiles_h, tiles_w):
    return (n * tiles_h + th) * tiles_w + tw


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), first_tile=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_winograd_input_transform_is_b_transpose_d_b(module_name, geometry, first_tile, seed):
    """V[:, t] = B^T d B for the 6x6 tile d at (4*th, 4*tw), written from first_tile on."""
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, _, _ = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_images, 4 * tiles_h + 2, 4 * tiles_w + 2, channels))
    transformed = np.full((36, first_tile + n_images * tiles_h * tiles_w, channels), np.nan)
    module.winograd_input_transform(x, tiles_h, tiles_w, transformed, first_tile)
    b_t = winograd.INPUT_TRANSFORM
    for n, th, tw, c in np.ndindex(n_images, tiles_h, tiles_w, channels):
        tile = x[n, 4 * th : 4 * th + 6, 4 * tw : 4 * tw + 6, c]
        got = transformed[:, first_tile + tile_index(n, th, tw, tiles_h, tiles_w), c]
        assert_close(got.reshape(6, 6), b_t @ tile @ b_t.T, 1e-12)
    assert np.isnan(transformed[:, :first_tile]).all()  # nothing written before first_tile


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), seed=st.integers(0, 2**32 - 1))
def test_winograd_output_transform_is_a_transpose_m_a_cropped(module_name, geometry, seed):
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, out_h, out_w = geometry
    rng = np.random.default_rng(seed)
    products = rng.standard_normal((36, n_images * tiles_h * tiles_w, channels))
    y = np.full((n_images, out_h, out_w, channels), np.nan)
    module.winograd_output_transform(products, tiles_h, tiles_w, y)
    a_t = winograd.OUTPUT_TRANSFORM
    expected = np.empty((n_images, 4 * tiles_h, 4 * tiles_w, channels))
    for n, th, tw, c in np.ndindex(n_images, tiles_h, tiles_w, channels):
        m = products[:, tile_index(n, th, tw, tiles_h, tiles_w), c].reshape(6, 6)
        expected[n, 4 * th : 4 * th + 4, 4 * tw : 4 * tw + 4, c] = a_t @ m @ a_t.T
    assert_close(y, expected[:, :out_h, :out_w], 1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), seed=st.integers(0, 2**32 - 1))
def test_winograd_gradient_transform_is_a_g_a_transpose(module_name, geometry, seed):
    """Z[:, t] = A g A^T for the 4x4 gradient tile g, zeros past the output's edge."""
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, out_h, out_w = geometry
    rng = np.random.default_rng(seed)
    dy = rng.standard_normal((n_images, out_h, out_w, channels))
    transformed = np.full((36, n_images * tiles_h * tiles_w, channels), np.nan)
    module.winograd_gradient_transform(dy, tiles_h, tiles_w, transformed)
    a = winograd.OUTPUT_TRANSFORM.T
    padded = np.zeros((n_images, 4 * tiles_h, 4 * tiles_w, channels))
    padded[:, :out_h, :out_w] = dy
    for n, th, tw, c in np.ndindex(n_images, tiles_h, tiles_w, channels):
        g = padded[n, 4 * th : 4 * th + 4, 4 * tw : 4 * tw + 4, c]
        got = transformed[:, tile_index(n, th, tw, tiles_h, tiles_w), c]
        assert_close(got.reshape(6, 6), a @ g @ a.T, 1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), seed=st.integers(0, 2**32 - 1))
def test_winograd_input_gradient_sums_b_dv_b_transpose_over_overlapping_tiles(module_name, geometry, seed):
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, _, _ = geometry
    rng = np.random.default_rng(seed)
    transformed = rng.standard_normal((36, n_images * tiles_h * tiles_w, channels))
    dx = np.full((n_images, 4 * tiles_h + 2, 4 * tiles_w + 2, channels), np.nan)
    module.winograd_input_gradient(transformed, tiles_h, tiles_w, dx)
    b = winograd.INPUT_TRANSFORM.T
    expected = np.zeros_like(dx)
    for n, th, tw, c in np.ndindex(n_images, tiles_h, tiles_w, channels):
        dv = transformed[:, tile_index(n, th, tw, tiles_h, tiles_w), c].reshape(6, 6)
        expected[n, 4 * th : 4 * th + 6, 4 * tw : 4 * tw + 6, c] += b @ dv @ b.T
    assert_close(dx, expected, 1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
def test_winograd_kernels_float32_stay_float32(module_name):
    """float32 in, float32 arithmetic: close to the float64 result at float32 precision."""
    module = kernel_module(module_name)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 10, 10, 5))
    results = {}
    for dtype in (np.float64, np.float32):
        transformed = np.empty((36, 2 * 4, 5), dtype)
        module.winograd_input_transform(x.astype(dtype), 2, 2, transformed, 0)
        y = np.empty((2, 8, 8, 5), dtype)
        module.winograd_output_transform(transformed, 2, 2, y)
        results[dtype] = y
    assert results[np.float32].dtype == np.float32
    assert_close(results[np.float32], results[np.float64], 1e-5)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_winograd_output_relu_pool_is_output_transform_then_bias_relu_then_pool(
    module_name, geometry, ties, seed
):
    """The fused kernel equals its three steps exactly (argmax too: ReLU zeros make ties)."""
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, out_h, out_w = geometry
    rng = np.random.default_rng(seed)
    products = rng.standard_normal((36, n_images * tiles_h * tiles_w, channels))
    bias = rng.standard_normal(channels) - (3.0 if ties else 0.0)  # mostly negative: many zeros
    y = np.empty((n_images, out_h, out_w, channels))
    module.winograd_output_transform(products, tiles_h, tiles_w, y)
    module.bias_relu_forward(y.reshape(-1, channels), bias, y.reshape(-1, channels))
    pooled_shape = (n_images, out_h // 2, out_w // 2, channels)
    expected, expected_argmax = np.empty(pooled_shape), np.empty(pooled_shape, np.int32)
    module.maxpool_forward(y, 2, 2, 2, 2, expected, expected_argmax)
    pooled, argmax = np.full(pooled_shape, np.nan), np.full(pooled_shape, -1, np.int32)
    module.winograd_output_relu_pool(products, tiles_h, tiles_w, bias, pooled, argmax)
    np.testing.assert_array_equal(pooled, expected)
    np.testing.assert_array_equal(argmax, expected_argmax)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@given(geometry=winograd_geometry(), seed=st.integers(0, 2**32 - 1))
def test_winograd_pooled_gradient_transform_is_relu_and_pool_backward_then_gradient_transform(
    module_name, geometry, seed
):
    module = kernel_module(module_name)
    n_images, tiles_h, tiles_w, channels, out_h, out_w = geometry
    rng = np.random.default_rng(seed)
    pooled_shape = (n_images, out_h // 2, out_w // 2, channels)
    pooled_gradient = rng.standard_normal(pooled_shape)
    pooled = np.maximum(rng.standard_normal(pooled_shape), 0)  # about half at the ReLU's zero
    argmax = rng.integers(0, 4, pooled_shape).astype(np.int32)
    dy = np.empty((n_images, out_h, out_w, channels))
    module.maxpool_backward(pooled_gradient * (pooled > 0), argmax, 2, 2, 2, 2, dy)
    expected = np.empty((36, n_images * tiles_h * tiles_w, channels))
    module.winograd_gradient_transform(dy, tiles_h, tiles_w, expected)
    got = np.full_like(expected, np.nan)
    module.winograd_pooled_gradient_transform(pooled_gradient, pooled, argmax, tiles_h, tiles_w, got)
    np.testing.assert_array_equal(got, expected)
    # Position 7 of each transformed tile is the sum of its 16 gradients (backward's bias gradient).
    padded = np.zeros((n_images, 4 * tiles_h, 4 * tiles_w, channels))
    padded[:, :out_h, :out_w] = dy
    tile_sums = padded.reshape(n_images, tiles_h, 4, tiles_w, 4, channels).sum(axis=(2, 4))
    np.testing.assert_allclose(got[7], tile_sums.reshape(-1, channels), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULE_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(size=st.integers(1, 300), threshold=st.integers(0, 65536), seed=st.integers(0, 2**32 - 1))
def test_dropout_apply_matches_naive(module_name, dtype, size, threshold, seed):
    module = kernel_module(module_name)
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(size).astype(dtype)
    draws = rng.integers(0, 65536, size).astype(np.uint16)
    scale = dtype(1 / 0.7)
    out = np.full_like(values, np.nan)
    module.dropout_apply(values, draws, threshold, scale, out)
    expected = [
        value * scale if draw >= threshold else 0.0 for value, draw in zip(values, draws, strict=True)
    ]
    np.testing.assert_array_equal(out, np.array(expected, dtype))
