"""Small helpers shared by the tinycnn tests (comparisons, layer building, the kernel modules)."""

import numpy as np
import pytest


def max_relative_error(actual, expected):
    """max |actual - expected| / max |expected|: the error relative to the array's scale.

    (Elementwise relative errors blow up on entries that cancel to ~0; a scale-relative error
    is the right measure for two summation orders of the same sums.)
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"shapes differ: {actual.shape} vs {expected.shape}"
    if actual.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), float(np.max(np.abs(actual))), 1e-300)
    return float(np.max(np.abs(actual - expected))) / scale


def assert_close(actual, expected, tolerance=1e-9):
    """Same shape and a scale-relative error below `tolerance`."""
    error = max_relative_error(actual, expected)
    assert error < tolerance, f"relative error {error:.3e} >= {tolerance:.0e}"


def built(layer, input_shape, dtype=np.float64, seed=0):
    """`layer` built for per-example `input_shape` (float64 by default); biases made non-zero."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, dtype)
    if "bias" in layer.params:
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer


def kernel_module(name):
    """tinycnn.kernels.numba_kernels or tinycnn.kernels.numpy_kernels (skipped without Numba)."""
    if name == "numba":
        pytest.importorskip("numba", reason="the Numba backend needs numba installed")
        from tinycnn.kernels import numba_kernels

        return numba_kernels
    from tinycnn.kernels import numpy_kernels

    return numpy_kernels


KERNEL_MODULE_NAMES = ["numba", "numpy"]
