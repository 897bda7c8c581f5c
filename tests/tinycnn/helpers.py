"""Small helpers shared by the tinycnn tests (comparisons, layer building, the kernel variants)."""

from types import SimpleNamespace

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
    """Every kernel's variant `name`, by kernel name (`.im2col`, `.maxpool_forward`, ...): "numba"
    (the threaded compilation, skipped without Numba), "serial" (the serial one) or "numpy" (the twin)."""
    from tinycnn.kernels import KERNELS

    if name == "numpy":
        return SimpleNamespace(**{kernel.name: kernel.numpy_twin for kernel in KERNELS})
    pytest.importorskip("numba", reason="the Numba backend needs numba installed")
    return SimpleNamespace(
        **{kernel.name: kernel.threaded if name == "numba" else kernel.serial for kernel in KERNELS}
    )


KERNEL_MODULE_NAMES = ["numba", "numpy"]
