"""Kernel dispatch: the Numba kernels, or their NumPy twins, behind one set of functions.

The backend is chosen once, on the first kernel call, so that `import tinycnn` never imports
Numba (it takes about half a second):

- `TINYCNN_BACKEND=numpy` or `numba` forces one;
- otherwise Numba when it imports, and NumPy under `NUMBA_DISABLE_JIT=1` (interpreted Numba
  kernels would be correct but thousands of times slower than the NumPy twins).

Every call of a threaded kernel goes through one lock: Numba's threading layer must never be
entered from two threads at once, and a widget may predict from a background thread while the
kernel thread works. The serial twins release the GIL and need no lock (tinycnn.workers runs them
on every core at once).
"""

import contextlib
import os
import threading

_lock = threading.RLock()
_this_thread = threading.local()
# Below this many elements a kernel runs its serial twin: waking the thread pool for one image's
# few hundred kilobytes (or a bias vector's Adam step) costs more than the loop itself.
SERIAL_BELOW = 1 << 17
_kernels = None
_backend = None

BACKENDS = ("numba", "numpy")
# What each backend module provides, and each also as `NAME_serial` (the same work without threads).
KERNELS = (
    "im2col",
    "col2im",
    "maxpool_forward",
    "maxpool_backward",
    "relu_forward",
    "bias_relu_forward",
    "relu_backward",
    "dropout_apply",
    "adam_update",
    "winograd_input_transform",
    "winograd_output_transform",
    "winograd_gradient_transform",
    "winograd_input_gradient",
    "winograd_output_relu_pool",
    "winograd_pooled_gradient_transform",
)
# What batches below Conv2D's WINOGRAD_MIN_IMAGES use (a drawing app's single images): the
# Winograd kernels take longer to compile than all the others together.
SMALL_BATCH_KERNELS = tuple(name for name in KERNELS if not name.startswith("winograd_"))


def _choose_backend():
    requested = os.environ.get("TINYCNN_BACKEND", "").strip().lower()
    if requested and requested not in BACKENDS:
        raise ValueError(f"TINYCNN_BACKEND must be one of {BACKENDS}, got {requested!r}")
    if requested:
        return requested
    if os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"):
        return "numpy"
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"


def _load():
    global _kernels, _backend
    with _lock:
        if _kernels is None:
            backend = _choose_backend()
            if backend == "numba":
                from tinycnn.kernels import numba_kernels as module
            else:
                from tinycnn.kernels import numpy_kernels as module
            _kernels, _backend = module, backend
    return _kernels


def backend():
    """The name of the backend in use: "numba" or "numpy" (chosen on first use)."""
    _load()
    return _backend


def warmup(names=KERNELS):
    """Compile, or load from Numba's on-disk cache, the kernels `names` (default: every kernel)
    for float32 on tiny arrays.

    Apps call this at start-up (e.g. in a background thread while the page loads) so that the
    first real call does not stall; one that predicts single images passes SMALL_BATCH_KERNELS.
    Returns the backend's name.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = sorted(set(names) - set(KERNELS))
    if unknown:
        raise ValueError(f"warmup: unknown kernel names {unknown}; known: {', '.join(KERNELS)}")
    module = _load()
    with _lock:
        module.warmup(names)
    return _backend


def _run(name, size, *arguments):
    """Run the kernel `name` of the backend in use, or its serial twin for `size` small elements
    or in a chunk worker's thread (see serial_in_this_thread). Only the threaded kernels take the
    lock: the serial twins release the GIL and run side by side."""
    module = _load()
    if size < SERIAL_BELOW or getattr(_this_thread, "serial", False):
        getattr(module, f"{name}_serial")(*arguments)
        return
    with _lock:
        getattr(module, name)(*arguments)


@contextlib.contextmanager
def serial_in_this_thread():
    """Within the block, this thread's kernel calls run the serial twins (tinycnn.workers: each
    core runs its own chunks, so a kernel must not spread over the cores itself)."""
    before = getattr(_this_thread, "serial", False)
    _this_thread.serial = True
    try:
        yield
    finally:
        _this_thread.serial = before


def im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols):
    """Unfold windows of x (N, H, W, C) into cols (N*OH*OW, KH*KW*C), in place."""
    _run(
        "im2col", cols.size, x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols
    )


def col2im(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx):
    """Fold cols (N*OH*OW, KH*KW*C) back into dx (N, H, W, C), summing overlaps, in place."""
    _run(
        "col2im", cols.size, cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, dx
    )


def maxpool_forward(x, pool_h, pool_w, stride_h, stride_w, out, argmax):
    """Window maxima of x (N, H, W, C) into out (N, OH, OW, C), their positions into argmax."""
    _run("maxpool_forward", x.size, x, pool_h, pool_w, stride_h, stride_w, out, argmax)


def maxpool_backward(dy, argmax, pool_h, pool_w, stride_h, stride_w, dx):
    """Scatter dy (N, OH, OW, C) to the winning positions of dx (N, H, W, C), in place."""
    _run("maxpool_backward", dx.size, dy, argmax, pool_h, pool_w, stride_h, stride_w, dx)


def relu_forward(x, out):
    """out = max(x, 0) elementwise, in place; both C-contiguous of one shape."""
    _run("relu_forward", x.size, x, out)


def bias_relu_forward(x, bias, out):
    """out = max(x + bias, 0), bias (C,) along the last axis of x and out (rows, C), in place."""
    _run("bias_relu_forward", x.size, x, bias, out)


def relu_backward(y, dy, dx):
    """dx = dy where y > 0, else 0, in place; all C-contiguous of one shape."""
    _run("relu_backward", y.size, y, dy, dx)


def dropout_apply(values, draws, threshold, scale, out):
    """out = values * scale where draws (uint16) >= threshold, else 0; one shape, C-contiguous."""
    _run("dropout_apply", values.size, values, draws, threshold, scale, out)


def adam_update(param, gradient, m, v, alpha, beta_1, beta_2, epsilon):
    """One Adam step on param, m, v in place (one pass over memory with Numba).

    All four arrays must share one shape and dtype: the kernel indexes them as one flat range.
    """
    if not (param.shape == gradient.shape == m.shape == v.shape):
        raise ValueError(
            f"adam_update: param {param.shape}, gradient {gradient.shape}, m {m.shape} and v {v.shape} must match"
        )
    if not (param.dtype == gradient.dtype == m.dtype == v.dtype) or not all(
        array.flags.c_contiguous for array in (param, gradient, m, v)
    ):
        raise ValueError("adam_update: param, gradient, m and v must be C-contiguous arrays of one dtype")
    scalar = param.dtype.type
    _run(
        "adam_update",
        param.size,
        param,
        gradient,
        m,
        v,
        scalar(alpha),
        scalar(1 - beta_1),
        scalar(1 - beta_2),
        scalar(epsilon),
    )


def winograd_input_transform(x, tiles_h, tiles_w, transformed, first_tile=0):
    """B^T d B of each 6x6 tile of x (N, 4*TH+2, 4*TW+2, C) into transformed (36, T, C), from first_tile."""
    _run("winograd_input_transform", x.size, x, tiles_h, tiles_w, transformed, first_tile)


def winograd_output_transform(products, tiles_h, tiles_w, y):
    """A^T M A of each tile of products (36, N*TH*TW, C) into y (N, OH, OW, C), cropped, in place."""
    _run("winograd_output_transform", y.size, products, tiles_h, tiles_w, y)


def winograd_gradient_transform(dy, tiles_h, tiles_w, transformed):
    """A g A^T of each 4x4 tile of dy (N, OH, OW, C) into transformed (36, N*TH*TW, C)."""
    _run("winograd_gradient_transform", dy.size, dy, tiles_h, tiles_w, transformed)


def winograd_input_gradient(transformed, tiles_h, tiles_w, dx):
    """Sum of B dV B^T over the overlapping tiles, into dx (N, 4*TH+2, 4*TW+2, C), overwritten."""
    _run("winograd_input_gradient", dx.size, transformed, tiles_h, tiles_w, dx)


def winograd_output_relu_pool(products, tiles_h, tiles_w, bias, pooled, argmax):
    """Output transform, bias, ReLU and 2x2/2 max-pool: products (36, N*TH*TW, C) into pooled and
    argmax (N, PH, PW, C), in place."""
    _run("winograd_output_relu_pool", products.size, products, tiles_h, tiles_w, bias, pooled, argmax)


def winograd_pooled_gradient_transform(pooled_gradient, pooled, argmax, tiles_h, tiles_w, transformed):
    """ReLU and 2x2/2 max-pool backward, then the gradient transform: pooled_gradient, pooled and
    argmax (N, PH, PW, C) into transformed (36, N*TH*TW, C)."""
    _run(
        "winograd_pooled_gradient_transform",
        transformed.size,
        pooled_gradient,
        pooled,
        argmax,
        tiles_h,
        tiles_w,
        transformed,
    )
