"""Sequential: a stack of layers run forward in order and backward in reverse.

    model = Sequential([Conv2D(32, 3), ReLU(), Flatten(), Dense(10)], input_shape=(28, 28, 1), seed=0)
    logits = model.forward(x, training=True)        # x (N, 28, 28, 1) -> (N, 10)
    dx = model.backward(loss.backward())            # fills every layer's grads
    model.predict(x)                                # inference in batches, keeps nothing
    model.save("weights.npz"); Sequential.load("weights.npz")

An engine runs the layers (tinycnn.engine): "fast" (the default) plans them for speed, "plain"
runs each layer's own forward and backward as written. `model.engine = "plain"` switches;
`print(model.plan())` shows what runs. Both give the same results up to float rounding.

Weights files are .npz archives: one array per parameter, named "layer_name/key", plus
"__architecture__" (JSON: format version, input shape, dtype, each layer's class and config), and
any "extra/NAME" arrays an application stores beside the model (`save(path, extra=...)`,
`read_extra(path)`), which loading the model leaves alone. Loading rebuilds the architecture and
validates every array (present, shape, dtype, finite).
"""

import json
import math

import numpy as np

from tinycnn import engine as engines
from tinycnn.errors import ShapeError, WeightsFileError
from tinycnn.layers import LAYER_CLASSES, Layer
from tinycnn.layers.base import SUPPORTED_DTYPES, format_shape
from tinycnn.weights_file import read_npz, write_npz_atomic

FORMAT = "tinycnn.Sequential"
FORMAT_VERSION = 1
ARCHITECTURE_KEY = "__architecture__"
MAX_ARCHITECTURE_CHARS = 1 << 20  # the reference model's is under 2,000
MAX_LAYERS = 1000
MAX_INPUT_SIDE = 1 << 16
PARAMETER_SLACK = 1 << 20  # a missing parameter or two: set_weights names them
EXTRA_PREFIX = "extra/"  # arrays an application keeps beside the model: not the model's


class Sequential:
    """Layers applied one after another; builds every layer's parameters at construction."""

    def __init__(self, layers, input_shape, dtype=np.float32, seed=None, name="sequential", engine="fast"):
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {index} is {type(layer).__name__}, not a tinycnn layer")
        if len({id(layer) for layer in self.layers}) != len(self.layers):
            raise ValueError(
                "Sequential: the same layer object appears twice; create a new one for each place"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype not in SUPPORTED_DTYPES:
            raise ValueError(f"Sequential: dtype must be float32 or float64, got {self.dtype}")
        self.input_shape = tuple(int(size) for size in input_shape)
        self.name = name
        self._name_layers()
        rng = np.random.default_rng(seed)
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.build(shape, rng, self.dtype)
        self.output_shape = shape
        self.engine = engine

    @property
    def engine(self):
        """The name of the engine that runs the layers: "fast" or "plain" (tinycnn.engine)."""
        return self._engine.name

    @engine.setter
    def engine(self, name):
        self._engine = engines.make(name, self.layers)

    def _name_layers(self):
        taken = {layer.name for layer in self.layers if layer.name}
        if len(taken) != sum(1 for layer in self.layers if layer.name):
            raise ValueError("Sequential: layer names must be unique")
        counts = {}
        for layer in self.layers:
            if layer.name:
                continue
            while True:
                count = counts.get(layer.default_name, 0)
                counts[layer.default_name] = count + 1
                candidate = layer.default_name if count == 0 else f"{layer.default_name}_{count}"
                if candidate not in taken:
                    break
            layer.name = candidate
            taken.add(candidate)

    # --- running --------------------------------------------------------------------------
    def forward(self, x, training=False):
        """Logits for a batch x (N, *input_shape); each layer keeps what its backward needs."""
        return self._engine.forward(self._check_input(x), training=training)

    def backward(self, dy, input_gradient=True):
        """Back-propagate dL/d(output) through every layer (filling grads); return dL/dx.

        With `input_gradient=False` the first layer skips its input gradient (training needs
        none: it is the most expensive pass of a first convolution) and None is returned.
        """
        return self._engine.backward(dy, input_gradient=input_gradient)

    def predict(self, x, batch_size=256):
        """Inference outputs (N, *output_shape) in batches; nothing is kept for backward."""
        x = self._check_input(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
        outputs = np.empty((x.shape[0], *self.output_shape), self.dtype)
        for start in range(0, x.shape[0], batch_size):
            batch = x[start : start + batch_size]
            outputs[start : start + batch_size] = self._engine.forward(batch, training=False, keep=False)
        return outputs

    def plan(self, batch_size=128):
        """How the engine runs the layers for batches of `batch_size` images: a table (print it),
        one row per step, the layers it covers and how it runs them (tinycnn.engine.plan)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"plan: batch_size must be a positive int, got {batch_size!r}")
        return self._engine.plan(int(batch_size))

    def _check_input(self, x):
        if not isinstance(x, np.ndarray):
            raise ShapeError(f"{self.name}: expected a NumPy array, got {type(x).__name__}")
        if x.ndim != len(self.input_shape) + 1 or x.shape[1:] != self.input_shape:
            raise ShapeError(
                f"{self.name}: expected input of shape {format_shape(self.input_shape)}, got {tuple(x.shape)}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise ShapeError(
                f"{self.name}: expected floating-point input, got dtype {x.dtype} "
                "(scale integer images to floats first, e.g. x / 255)"
            )
        return x

    # --- parameters -----------------------------------------------------------------------
    @property
    def parameter_count(self):
        return sum(layer.parameter_count for layer in self.layers)

    def get_weights(self):
        """{"layer_name/key": array} copies of every parameter."""
        return {
            f"{layer.name}/{key}": value.copy()
            for layer in self.layers
            for key, value in layer.params.items()
        }

    def set_weights(self, weights, source="weights"):
        """Copy {"layer_name/key": array} into the parameters, validating every array first."""
        expected = {f"{layer.name}/{key}": (layer, key) for layer in self.layers for key in layer.params}
        missing = sorted(set(expected) - set(weights))
        unexpected = sorted(set(weights) - set(expected))
        if missing or unexpected:
            details = []
            if missing:
                details.append(
                    "missing "
                    + ", ".join(
                        f"{key} (expected shape {expected[key][0].params[expected[key][1]].shape})"
                        for key in missing
                    )
                )
            if unexpected:
                details.append(f"unexpected {', '.join(unexpected)}")
            raise WeightsFileError(
                f"{source}: parameters do not match the architecture: {'; '.join(details)}"
            )
        for full_key, (layer, key) in expected.items():
            value = np.asarray(weights[full_key])
            target = layer.params[key]
            where = f"{source}: layer {layer.name!r} ({type(layer).__name__}) parameter {key!r}"
            if value.shape != target.shape:
                raise WeightsFileError(f"{where}: expected shape {target.shape}, got {value.shape}")
            if value.dtype != target.dtype:
                raise WeightsFileError(f"{where}: expected dtype {target.dtype}, got {value.dtype}")
            if not np.all(np.isfinite(value)):
                raise WeightsFileError(f"{where}: contains NaN or infinite values")
        for full_key, (layer, key) in expected.items():
            layer.params[key][...] = weights[full_key]

    # --- random state (dropout masks), for exact resumption -------------------------------
    def rng_state(self):
        """{layer_name: generator state} of every layer that draws random numbers (JSON-ready)."""
        return {layer.name: layer.rng.bit_generator.state for layer in self.layers if hasattr(layer, "rng")}

    def set_rng_state(self, state):
        """Restore what `rng_state()` returned."""
        for layer in self.layers:
            if hasattr(layer, "rng") and layer.name in state:
                layer.rng.bit_generator.state = state[layer.name]

    # --- files ----------------------------------------------------------------------------
    def architecture(self):
        """The JSON-ready description stored in weights files."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "dtype": self.dtype.name,
            "layers": [
                {"class": type(layer).__name__, "name": layer.name, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def save(self, path, extra=None):
        """Write architecture and weights to an .npz file, atomically; `extra` ({name: array}) is
        stored beside them as "extra/name" (read back with `read_extra`)."""
        arrays = {ARCHITECTURE_KEY: np.array(json.dumps(self.architecture())), **self.get_weights()}
        for name, value in (extra or {}).items():
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError(
                    f"save: extra {name!r} is not a plain array (no objects: files load without pickle)"
                )
            arrays[EXTRA_PREFIX + name] = array
        return write_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path, engine="fast"):
        """Rebuild the model saved at `path` (architecture and weights), validating everything;
        `engine` runs it (weights files do not store one)."""
        if engine not in engines.ENGINES:
            raise ValueError(f"engine must be one of {tuple(engines.ENGINES)}, got {engine!r}")
        arrays = _without_extra(read_npz(path))
        architecture = _read_architecture(arrays, path)
        try:
            layers = [
                LAYER_CLASSES[spec["class"]](**spec["config"], name=spec["name"])
                for spec in architecture["layers"]
            ]
            _check_planned_parameters(layers, architecture["input_shape"], arrays, path)
            model = cls(
                layers,
                architecture["input_shape"],
                dtype=architecture["dtype"],
                name=architecture["name"],
                engine=engine,
            )
        except WeightsFileError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise WeightsFileError(f"{path}: the stored architecture is not valid ({error})") from None
        model.set_weights(arrays, source=str(path))
        return model

    def load_weights(self, path):
        """Load weights saved from a model of this very architecture into this model."""
        self.set_saved_weights(read_npz(path), source=str(path))

    def set_saved_weights(self, arrays, source="weights"):
        """Copy in weights as `save` stores them ({name: array} with the architecture entry, which
        must describe this very architecture), validating every array first."""
        arrays = _without_extra(arrays)
        stored = _without_seeds(_read_architecture(arrays, source))
        mine = _without_seeds(self.architecture())
        for field in ("input_shape", "dtype", "layers"):
            if stored.get(field) != mine[field]:
                raise WeightsFileError(
                    f"{source}: saved for a different architecture ({field}: file has {stored.get(field)}, "
                    f"this model has {mine[field]})"
                )
        self.set_weights(arrays, source=source)

    # --- describing -----------------------------------------------------------------------
    def summary_text(self):
        """A Keras-like table: layer, output shape, parameter count, and the total."""
        rows = [
            (
                f"{layer.name} ({type(layer).__name__})",
                str((None, *layer.output_shape)),
                f"{layer.parameter_count:,}",
            )
            for layer in self.layers
        ]
        widths = [
            max(len(header), *(len(row[i]) for row in rows)) + 3
            for i, header in enumerate(("Layer (type)", "Output Shape", "Param #"))
        ]
        rule_width = sum(widths)

        def line(cells):
            return "".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        total = self.parameter_count
        out = [
            f'Model: "{self.name}"',
            "_" * rule_width,
            line(("Layer (type)", "Output Shape", "Param #")),
            "=" * rule_width,
        ]
        out += [line(row) for row in rows]
        out += [
            "=" * rule_width,
            f"Total params: {total:,}",
            f"Trainable params: {total:,}",
            "Non-trainable params: 0",
            f'Engine: "{self.engine}" (print(model.plan()) shows how it runs the layers)',
            "_" * rule_width,
        ]
        return "\n".join(out)

    def summary(self):
        """Print `summary_text()`."""
        print(self.summary_text())

    def __repr__(self):
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], input_shape={self.input_shape})"


def read_extra(path):
    """{name: array} of the "extra/name" arrays a weights file holds beside the model ({} if none)."""
    return {
        key[len(EXTRA_PREFIX) :]: value
        for key, value in read_npz(path).items()
        if key.startswith(EXTRA_PREFIX)
    }


def _without_extra(arrays):
    return {key: value for key, value in arrays.items() if not key.startswith(EXTRA_PREFIX)}


def _without_seeds(architecture):
    """The architecture minus random seeds (a Dropout seed changes no weight's meaning)."""
    layers = [
        {**spec, "config": {k: v for k, v in spec.get("config", {}).items() if k != "seed"}}
        for spec in architecture.get("layers", [])
        if isinstance(spec, dict)
    ]
    return {**architecture, "layers": layers}


def _read_architecture(arrays, path):
    if ARCHITECTURE_KEY not in arrays:
        raise WeightsFileError(f"{path}: not a tinycnn weights file (no {ARCHITECTURE_KEY} entry)")
    try:
        text = str(arrays.pop(ARCHITECTURE_KEY))
        if len(text) > MAX_ARCHITECTURE_CHARS:
            raise WeightsFileError(
                f"{path}: the stored architecture is {len(text):,} characters long, too long to be one"
            )
        architecture = json.loads(text)
    except RecursionError:
        raise WeightsFileError(f"{path}: the stored architecture is nested too deeply to be one") from None
    except ValueError as error:
        raise WeightsFileError(f"{path}: the stored architecture is not valid JSON ({error})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise WeightsFileError(f"{path}: not a tinycnn weights file")
    if architecture.get("format_version") != FORMAT_VERSION:
        raise WeightsFileError(
            f"{path}: format version {architecture.get('format_version')} is not supported "
            f"(this tinycnn reads version {FORMAT_VERSION})"
        )
    layers = architecture.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:
        raise WeightsFileError(
            f"{path}: the architecture has {len(layers):,} layers, more than the {MAX_LAYERS} allowed"
        )
    return architecture


def _check_planned_parameters(layers, input_shape, arrays, path):
    """Refuse an architecture that needs far more parameters than the file holds, before building
    it: building allocates every parameter, so a few bytes of JSON could ask for gigabytes. (A
    smaller mismatch is left to `set_weights`, whose message names each parameter.)"""
    shape = tuple(int(size) for size in input_shape)
    if not shape or any(size < 1 or size > MAX_INPUT_SIDE for size in shape):
        raise WeightsFileError(f"{path}: the stored input shape {shape} is not a sane image shape")
    planned = 0
    for layer in layers:
        planned += sum(math.prod(parameter) for parameter in layer.parameter_shapes(shape).values())
        shape = tuple(layer.compute_output_shape(shape))
    stored = sum(int(np.size(value)) for value in arrays.values())
    if planned > stored + PARAMETER_SLACK:
        raise WeightsFileError(
            f"{path}: the architecture needs {planned:,} parameters but the file holds only {stored:,} values"
        )
