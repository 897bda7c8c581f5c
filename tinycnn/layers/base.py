"""The layer contract every layer follows.

- `build(input_shape, rng, dtype)` creates `params` for one example's shape (no batch axis) and
  returns the output shape. `Sequential` builds its layers; a layer used alone builds itself on
  its first `forward`.
- `forward(x, training=False, keep=True)` maps a batch `(N, ...)` to a fresh output array and, if
  `keep`, remembers what `backward` needs (nothing else). `keep=False` is pure inference.
- `backward(dy, input_gradient=True)` takes dL/d(output), fills `grads` (overwriting, never
  accumulating) and returns dL/d(input), or None when `input_gradient` is False (the first layer
  of a network needs no input gradient while training). What `forward` kept is consumed: a second
  `backward` needs a new `forward`.
- `params` and `grads` are dicts with identical keys and shapes; optimizers iterate over them.

Layers never modify their input arrays in place.
"""

import numpy as np

from tinycnn.errors import ShapeError

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def format_shape(example_shape):
    """'(N, 26, 26, 32)' for a per-example shape (26, 26, 32)."""
    return "(" + ", ".join(["N", *(str(size) for size in example_shape)]) + ")"


class Layer:
    """Base class: bookkeeping shared by all layers (name, shapes, input checks, config)."""

    default_name = "layer"

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.input_shape = None
        self.output_shape = None
        self.dtype = None
        self._saved = None
        self._batch_size = None

    # --- building -------------------------------------------------------------------------
    @property
    def built(self):
        return self.input_shape is not None

    def build(self, input_shape, rng=None, dtype=np.float32):
        """Create parameters for inputs of per-example `input_shape`; return the output shape."""
        self.dtype = np.dtype(dtype)
        if self.dtype not in SUPPORTED_DTYPES:
            raise ShapeError(f"{self.describe()}: dtype must be float32 or float64, got {self.dtype}")
        input_shape = tuple(int(size) for size in input_shape)
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.input_shape = input_shape
        self.create_params(rng if rng is not None else np.random.default_rng(), self.dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return self.output_shape

    def compute_output_shape(self, input_shape):
        """Per-example output shape; raises ShapeError if the input does not fit the layer."""
        return input_shape

    def parameter_shapes(self, input_shape):
        """{name: shape} of the parameters this layer has for per-example `input_shape` ({} if none)."""
        return {}

    def create_params(self, rng, dtype):
        """Initialise `self.params` (layers with parameters override this)."""

    # --- running --------------------------------------------------------------------------
    def forward(self, x, training=False, keep=True):
        raise NotImplementedError

    def backward(self, dy, input_gradient=True):
        raise NotImplementedError

    def check_input(self, x):
        """Validate a batch against the built shape (building on first use); return it typed."""
        if not isinstance(x, np.ndarray):
            raise ShapeError(f"{self.describe()}: expected a NumPy array, got {type(x).__name__}")
        if not np.issubdtype(x.dtype, np.floating):
            raise ShapeError(
                f"{self.describe()}: expected floating-point input, got dtype {x.dtype} "
                "(scale integer images to floats first, e.g. x / 255)"
            )
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype if x.dtype in SUPPORTED_DTYPES else np.float32)
        expected = (x.ndim == len(self.input_shape) + 1) and x.shape[1:] == self.input_shape
        if not expected:
            raise ShapeError(
                f"{self.describe()}: expected input of shape {format_shape(self.input_shape)}, "
                f"got {tuple(x.shape)}"
            )
        self._batch_size = x.shape[0]
        return x.astype(self.dtype, copy=False)

    def saved(self):
        """What the last `forward(keep=True)` kept for `backward`; consumed by this call."""
        if self._saved is None:
            raise RuntimeError(
                f"{self.describe()}: backward needs a forward(..., keep=True) first "
                "(and each forward serves one backward)"
            )
        saved, self._saved = self._saved, None
        return saved

    def check_gradient(self, dy):
        """dL/d(output) must match the output of the last forward, batch size included."""
        expected = self.output_shape
        if not isinstance(dy, np.ndarray) or dy.shape != (self._batch_size, *expected):
            got = tuple(dy.shape) if isinstance(dy, np.ndarray) else type(dy).__name__
            raise ShapeError(
                f"{self.describe()}: backward expected a gradient of shape "
                f"{(self._batch_size, *expected)} (the last forward's output), got {got}"
            )
        return np.ascontiguousarray(dy, dtype=self.dtype)

    # --- describing -----------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments, as JSON-ready values (saved in weights files)."""
        return {}

    @property
    def parameter_count(self):
        return sum(int(value.size) for value in self.params.values())

    def describe(self):
        name = f" {self.name!r}" if self.name else ""
        return f"{type(self).__name__}{name}"

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"
