"""Kernel dispatch: one `Kernel` per operation, run by Numba (threaded or serial) or by its NumPy twin.

    im2col_into = Kernel(convolution.im2col_loops, convolution.im2col_numpy, convolution.im2col_example, work="cols")
    im2col_into(x, 3, 3, 1, 1, 0, 0, 26, 26, cols)   # the backend in use picks the variant

Which variant runs:
- the NumPy twin under the "numpy" backend (`tinycnn.settings`: chosen when Numba is missing,
  under NUMBA_DISABLE_JIT=1, or asked for);
- the serial twin (the loops compiled without threads) for small work, where waking the thread
  pool would cost more than the loop, and in a chunk worker's thread (`serial_in_this_thread`:
  each core runs its own chunk there, so a kernel must not spread over the cores itself);
- otherwise the threaded kernel. Numba's threading layer must never be entered from two threads
  at once, so threaded calls take one lock; the serial twins release the GIL and run side by side.

Nothing here knows an individual kernel: `tinycnn.kernels` lists them. Numba is imported on the
first compiled call, never by `import tinycnn`.
"""

import contextlib
import os
import threading
import types

from tinycnn import settings

# Below this many elements of a kernel's work array the serial twin runs: waking the thread pool
# for one image's few hundred kilobytes (or a bias vector's Adam step) costs more than the loop.
SERIAL_BELOW = 1 << 17

KERNELS = []  # every Kernel made, in order (warm-up compiles them)
_threaded_lock = threading.RLock()
_compile_lock = threading.RLock()
_this_thread = threading.local()
_compiled_helpers = {}


class Kernel:
    """One operation: its loops (compiled by Numba on first use) and its NumPy twin.

    loops, numpy_twin: functions of the same arguments, writing into the output arrays they are
    given; example(): tiny float32 arguments to compile the loops with (warm-up); work: the name
    of the argument whose size says how much work a call is (serial twin below SERIAL_BELOW);
    threads: False for loops with no `prange` (their iterations depend on each other): then only
    the serial compilation exists.
    """

    def __init__(self, loops, numpy_twin, example, work, threads=True):
        self.name = loops.__name__.removesuffix("_loops")
        self.loops, self.numpy_twin, self.example = loops, numpy_twin, example
        self.threads = threads
        self._work_index = loops.__code__.co_varnames[: loops.__code__.co_argcount].index(work)
        self._threaded = self._serial = None
        KERNELS.append(self)

    def __call__(self, *arguments):
        if settings.backend_in_use() == "numpy":
            return self.numpy_twin(*arguments)
        small = arguments[self._work_index].size < SERIAL_BELOW
        if small or not self.threads or getattr(_this_thread, "serial", False):
            return self.serial(*arguments)
        with _threaded_lock:
            return self.threaded(*arguments)

    @property
    def threaded(self):
        """The loops compiled with `prange` over all cores (the serial compilation when the kernel
        has no threads)."""
        if not self.threads:
            return self.serial
        if self._threaded is None:
            self._threaded = _compile(self.loops, parallel=True)
        return self._threaded

    @property
    def serial(self):
        """The loops compiled without threads (`prange` runs as `range`), releasing the GIL."""
        if self._serial is None:
            self._serial = _compile(self.loops, parallel=False)
        return self._serial

    def warm_up(self):
        """Compile (or load from Numba's cache) both variants for float32, or nothing under NumPy."""
        if settings.backend_in_use() == "numpy":
            return
        if self.threads:
            with _threaded_lock:
                self.threaded(*self.example())
        self.serial(*self.example())

    def __repr__(self):
        return f"Kernel({self.name})"


@contextlib.contextmanager
def serial_in_this_thread():
    """Within the block, this thread's kernel calls run the serial twins (a chunk worker's thread)."""
    before = getattr(_this_thread, "serial", False)
    _this_thread.serial = True
    try:
        yield
    finally:
        _this_thread.serial = before


def warmup(kernels):
    """Compile (or load from the cache) `kernels` and return the backend's name."""
    for kernel in kernels:
        kernel.warm_up()
    return settings.backend_in_use()


def _compile(loops, parallel):
    """`loops` compiled by Numba, threaded (`prange` as Numba's) or serial (`prange` as range).

    Each variant is a copy of the function whose globals map `prange` and the marked helpers
    (tinycnn.kernels.loops) to what Numba compiles; its own name keeps the two variants apart in
    Numba's on-disk cache (`cache=True`: files in __pycache__ beside the source)."""
    numba = load_numba()
    with _compile_lock:
        name = loops.__name__ if parallel else f"{loops.__name__}_serial"
        namespace = _compiled_namespace(loops, numba)
        namespace["prange"] = numba.prange if parallel else range
        variant = _copy(loops, namespace, name)
        return numba.njit(cache=True, parallel=parallel, nogil=not parallel)(variant)


def _compiled_namespace(function, numba):
    """function's globals, with every marked helper it calls replaced by its compiled version."""
    namespace = dict(function.__globals__)
    for name in function.__code__.co_names:
        value = namespace.get(name)
        kind = getattr(value, "compiled_as", None) if isinstance(value, types.FunctionType) else None
        if kind is not None:
            namespace[name] = _compiled_helper(value, kind, numba)
    return namespace


def _compiled_helper(function, kind, numba):
    if function not in _compiled_helpers:
        copy = _copy(function, _compiled_namespace(function, numba), function.__name__)
        options = {"inline": "always"} if kind == "inline" else {}
        _compiled_helpers[function] = numba.njit(cache=True, **options)(copy)
    return _compiled_helpers[function]


def _copy(function, namespace, name):
    copy = types.FunctionType(function.__code__, namespace, name, function.__defaults__)
    copy.__qualname__ = name  # Numba names its cache files after it
    copy.__doc__ = function.__doc__
    return copy


def load_numba():
    """Numba, imported on first use, with its threading layer chosen (before any parallel call)."""
    import numba

    # OpenMP worker threads spin after a parallel region and steal the cores from the OpenBLAS
    # GEMM that follows (a 3x3 convolution's forward took 37 ms instead of 25 ms here); Numba's
    # own workqueue layer sleeps instead. It is not thread-safe, which `_threaded_lock` covers.
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    return numba
