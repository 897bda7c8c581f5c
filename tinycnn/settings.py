"""tinycnn's settings: how the library runs, in one object, resolved once.

    import tinycnn
    tinycnn.settings.current()                  # Settings(backend='auto', conv_algorithm='auto', ...)
    tinycnn.settings.configure(workers=1)       # from now on, for the whole process
    with tinycnn.settings.use(conv_algorithm="im2col", fuse=False):
        model.forward(x)                        # inside the block only (tests, comparisons)

The fields (none changes a result beyond float rounding; all change speed):
- `backend`: "numba" (compiled kernels), "numpy" (their NumPy twins), or "auto": Numba when it
  imports, NumPy when it does not or under NUMBA_DISABLE_JIT=1;
- `conv_algorithm`: "im2col", "winograd" or "auto" (the fast engine's rule, tinycnn.engine), for
  every Conv2D left at algorithm="auto";
- `fuse`: the fast engine runs Conv2D -> ReLU (-> MaxPool2D) as one block (True) or layer by layer;
- `workers`: how many chunk workers the fast engine runs (one core each; 1: the chunks one after
  another, with threaded kernels and BLAS).

At import the environment seeds them: TINYCNN_BACKEND, TINYCNN_CONV_ALGORITHM, TINYCNN_FUSE
(0/false/no to turn it off) and TINYCNN_WORKERS; workers default to the threads OpenBLAS is told
to use (OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, MKL_NUM_THREADS), else the CPUs this process
may run on. After that nothing reads the environment or the process's thread state: a result never
depends on what another thread does.

One thing must happen before NumPy loads, so it happens here, as tinycnn is imported: OpenBLAS's
idle threads are told to sleep about 20 us after a matrix product (OPENBLAS_THREAD_TIMEOUT=16,
unless set). By default they spin for about a tenth of a second, taking a core from the Numba
kernel that follows, and a training step alternates between the two all the time. Import tinycnn
(or handdigit) before NumPy, or set the variable yourself.
"""

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")

import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import threading  # noqa: E402

BACKENDS = ("auto", "numba", "numpy")
CONV_ALGORITHMS = ("auto", "im2col", "winograd")
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cpus():
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class Settings:
    """How tinycnn runs; see the module docstring. Invalid values raise ValueError at once."""

    backend: str = "auto"
    conv_algorithm: str = "auto"
    fuse: bool = True
    workers: int = dataclasses.field(default_factory=available_cpus)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"tinycnn settings: backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.conv_algorithm not in CONV_ALGORITHMS:
            raise ValueError(
                f"tinycnn settings: conv_algorithm must be one of {CONV_ALGORITHMS}, got {self.conv_algorithm!r}"
            )
        if not isinstance(self.fuse, bool):
            raise ValueError(f"tinycnn settings: fuse must be True or False, got {self.fuse!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"tinycnn settings: workers must be a positive int, got {self.workers!r}")


def from_environment(environ=os.environ):
    """The Settings the environment asks for (see the module docstring); ValueError naming the
    variable for a value that makes no sense."""

    def read(name, choices):
        value = environ.get(name, "").strip().lower()
        if value and value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        return value or "auto"

    backend = read("TINYCNN_BACKEND", BACKENDS)
    if backend == "auto" and environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"):
        backend = "numpy"  # interpreted Numba kernels would be thousands of times slower than NumPy's
    fuse = environ.get("TINYCNN_FUSE", "1").strip().lower() not in ("0", "false", "no")
    return Settings(
        backend=backend,
        conv_algorithm=read("TINYCNN_CONV_ALGORITHM", CONV_ALGORITHMS),
        fuse=fuse,
        workers=_workers_from(environ),
    )


def _workers_from(environ):
    requested = environ.get("TINYCNN_WORKERS", "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ValueError(f"TINYCNN_WORKERS must be a positive whole number, got {requested!r}")
        return int(requested)
    for name in BLAS_THREAD_VARIABLES:
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return available_cpus()


_current = from_environment()
_resolved_backend = None
_lock = threading.Lock()


def current():
    """The Settings in force."""
    return _current


def configure(**changes):
    """Change settings for the whole process (fields of Settings); returns the new Settings."""
    global _current, _resolved_backend
    with _lock:
        _current = dataclasses.replace(_current, **changes)
        _resolved_backend = None
    return _current


@contextlib.contextmanager
def use(**changes):
    """Settings changed for the duration of a `with` block (process-wide), then restored."""
    global _current, _resolved_backend
    before = _current
    configure(**changes)
    try:
        yield _current
    finally:
        with _lock:
            _current, _resolved_backend = before, None


def backend_in_use():
    """ "numba" or "numpy": the backend setting, with "auto" resolved (by importing Numba) on first use."""
    global _resolved_backend
    if _resolved_backend is None:
        backend = _current.backend
        if backend == "auto":
            try:
                import numba  # noqa: F401
            except ImportError:
                backend = "numpy"
            else:
                backend = "numba"
        _resolved_backend = backend
    return _resolved_backend
