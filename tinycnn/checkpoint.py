"""Training checkpoints: all it takes to continue a run exactly where it stopped, in one file.

    from tinycnn import checkpoint
    checkpoint.save("run/checkpoint.npz", model, optimizer, generators={"batches": rng},
                    metadata={"epoch": 3, "history": [...]})
    metadata = checkpoint.load("run/checkpoint.npz", model, optimizer, generators={"batches": rng})
    checkpoint.read_metadata("run/checkpoint.npz")   # the metadata alone

A checkpoint (.npz, no pickle, written atomically: a file of that name is always a whole one) holds
- the model's architecture and weights, as `Sequential.save` writes them;
- the optimizer's state (its step count and per-parameter slots: momentum, Adam's m and v);
- the states of the model's own random generators (its Dropout masks) and of the caller's
  `generators` (a batch order, augmentation), so that a resumed run draws the same numbers;
- `metadata`: anything JSON-ready the caller wants back (a configuration, a history, an epoch).

`load` restores everything in place into a model of the same architecture and an optimizer of the
same class, checks every part before it changes anything, and returns the metadata. A file that
is not a checkpoint, or one for another model, raises WeightsFileError with a plain message.
"""

import json

import numpy as np

from tinycnn.errors import WeightsFileError
from tinycnn.model import ARCHITECTURE_KEY
from tinycnn.weights_file import read_npz, write_npz_atomic

FORMAT = "tinycnn.checkpoint"
FORMAT_VERSION = 1
STATE_KEY = "__checkpoint__"
OPTIMIZER_PREFIX = "optimizer/"


def save(path, model, optimizer, generators=None, metadata=None):
    """Write model, optimizer, generator states and `metadata` (JSON-ready) to `path` atomically."""
    generators = dict(generators or {})
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_generators": model.rng_state(),
        "generators": {name: generator.bit_generator.state for name, generator in generators.items()},
        "metadata": metadata if metadata is not None else {},
    }
    try:
        state_json = json.dumps(state)
    except (TypeError, ValueError) as error:
        raise TypeError(f"checkpoint.save: metadata must be JSON-ready ({error})") from None
    arrays = {
        ARCHITECTURE_KEY: np.array(json.dumps(model.architecture())),
        **model.get_weights(),
        **{OPTIMIZER_PREFIX + key: value for key, value in optimizer.state_dict().items()},
        STATE_KEY: np.array(state_json),
    }
    return write_npz_atomic(path, arrays)


def load(path, model, optimizer, generators=None):
    """Restore what `save` wrote into `model`, `optimizer` and `generators` ({name: Generator},
    the names it was saved with); return the metadata."""
    arrays = read_npz(path)
    state = _read_state(arrays, path)
    generators = dict(generators or {})
    missing = sorted(set(generators) - set(state["generators"]))
    if missing:
        raise WeightsFileError(f"{path}: the checkpoint holds no generator named {', '.join(missing)}")
    optimizer_state = {
        key[len(OPTIMIZER_PREFIX) :]: arrays.pop(key)
        for key in list(arrays)
        if key.startswith(OPTIMIZER_PREFIX)
    }
    before = (model.get_weights(), optimizer.state_dict(), model.rng_state())
    generators_before = {name: generator.bit_generator.state for name, generator in generators.items()}

    def put_back():
        model.set_weights(before[0])
        optimizer.load_state_dict(before[1])
        model.set_rng_state(before[2])
        for name, generator in generators.items():
            generator.bit_generator.state = generators_before[name]

    try:
        model.set_saved_weights(arrays, source=str(path))
        optimizer.load_state_dict(optimizer_state)
        model.set_rng_state(state["model_generators"])
        for name, generator in generators.items():
            generator.bit_generator.state = state["generators"][name]
    except WeightsFileError as error:
        put_back()
        message = str(error)
        raise WeightsFileError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    except (KeyError, TypeError, ValueError) as error:
        put_back()
        raise WeightsFileError(f"{path}: the checkpoint's state does not fit this model ({error})") from None
    return state["metadata"]


def read_metadata(path):
    """The metadata a checkpoint holds, without restoring anything (say, to rebuild the model and
    optimizer a run's configuration describes before `load`)."""
    return _read_state(read_npz(path), path)["metadata"]


def _read_state(arrays, path):
    if STATE_KEY not in arrays:
        raise WeightsFileError(f"{path}: not a tinycnn checkpoint (no {STATE_KEY} entry)")
    try:
        state = json.loads(str(arrays.pop(STATE_KEY)))
    except (ValueError, RecursionError) as error:
        raise WeightsFileError(f"{path}: the checkpoint's state is not valid JSON ({error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise WeightsFileError(f"{path}: not a tinycnn checkpoint")
    if state.get("format_version") != FORMAT_VERSION:
        raise WeightsFileError(
            f"{path}: checkpoint format version {state.get('format_version')} is not supported "
            f"(this tinycnn reads version {FORMAT_VERSION})"
        )
    for field, kind in (("model_generators", dict), ("generators", dict)):
        if not isinstance(state.get(field), kind):
            raise WeightsFileError(f"{path}: the checkpoint's {field} entry is missing or not an object")
    state.setdefault("metadata", {})
    return state
