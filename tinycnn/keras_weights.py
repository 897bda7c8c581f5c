"""Weights of a Keras Sequential model, read with h5py (no TensorFlow), into a tinycnn Sequential.

    from tinycnn.keras_weights import load_keras
    model = load_keras("seed.h5")                    # architecture from the file, weights in it
    model = load_keras("seed.weights.h5", model)     # a weights-only file: into a model you built

Keras keeps the layouts tinycnn uses (channels-last images, Conv2D kernels (kh, kw, C_in, C_out),
Dense kernels (in, out), Flatten in (h, w, c) order), so weights copy over unchanged, layer by
layer in model order. The file layouts read (those the original HandDigit app's Keras could write):

- Keras 2 `.h5` (`model.save`): root attribute `model_config` (the architecture, JSON); group
  `model_weights` with attribute `layer_names` (model order); each layer's group lists its arrays
  in attribute `weight_names` (`conv2d/kernel:0`, `conv2d/bias:0`) at those paths below it.
  A Keras 2 `save_weights` file has the same layout at its root, without `model_config`.
- Keras 3 `.weights.h5` (`model.save_weights`): `layers/<name>/vars/0`, `/1`, ... (kernel, bias);
  no architecture and no order, so layers are matched by their automatic names: `conv2d`,
  `conv2d_1`, ... to the model's Conv2D layers in order, `dense`, `dense_1`, ... to its Dense ones.
- Keras 3 `.keras` (`model.save`): a zip holding `config.json` (the architecture, model order) and
  `model.weights.h5` (as above).

Architectures: InputLayer, Conv2D (valid or same, relu or linear), MaxPooling2D, Dropout, Flatten,
Dense (relu, linear, or softmax on the last layer, which is left out: tinycnn gives logits).
"""

import io
import json
import os
import re
import zipfile

import numpy as np

from tinycnn.errors import WeightsFileError
from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
MAX_MEMBER_BYTES = 256 << 20


def is_keras_file(path):
    return os.fspath(path).lower().endswith(KERAS_SUFFIXES)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading Keras files needs h5py: pip install 'handdigit[keras-weights]'") from None
    return h5py


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _read_keras2(group):
    """[(layer name, [arrays])] in model order, from a Keras 2 weights group."""
    layers = []
    for name in (_text(n) for n in group.attrs["layer_names"]):
        arrays = [np.asarray(group[name][_text(w)]) for w in group[name].attrs.get("weight_names", [])]
        if arrays:
            layers.append((name, arrays))
    return layers


def _read_keras3(h5file):
    """{layer name: [arrays]} from a Keras 3 weights file (no order)."""
    if "layers" not in h5file:
        raise WeightsFileError("not a Keras weights file (no model_weights, layer_names or layers group)")
    layers = {}
    for name, group in h5file["layers"].items():
        variables = group.get("vars")
        if variables is not None and len(variables):
            layers[name] = [np.asarray(variables[str(i)]) for i in range(len(variables))]
    return layers


def read_keras(path):
    """(architecture config or None, weights): weights is a list [(name, [arrays])] in model order
    when the file knows the order, else a dict {name: [arrays]} (a Keras 3 .weights.h5)."""
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsFileError(f"{path}: no such file")
    try:
        if path.lower().endswith(".keras"):
            with zipfile.ZipFile(path) as archive:
                for member in ("config.json", "model.weights.h5"):
                    if archive.getinfo(member).file_size > MAX_MEMBER_BYTES:
                        raise WeightsFileError(
                            f"{path}: {member} is larger than {MAX_MEMBER_BYTES >> 20} MiB"
                        )
                config = json.loads(archive.read("config.json"))
                weights_bytes = archive.read("model.weights.h5")
            with h5py.File(io.BytesIO(weights_bytes), "r") as h5file:
                by_name = _read_keras3(h5file)
            order = [layer["config"]["name"] for layer in config["config"]["layers"]]
            return config, [(name, by_name[name]) for name in order if name in by_name]
        with h5py.File(path, "r") as h5file:
            config = (
                json.loads(_text(h5file.attrs["model_config"])) if "model_config" in h5file.attrs else None
            )
            if "model_weights" in h5file:
                return config, _read_keras2(h5file["model_weights"])
            if "layer_names" in h5file.attrs:
                return config, _read_keras2(h5file)
            return config, _read_keras3(h5file)
    except WeightsFileError as error:
        raise WeightsFileError(str(error) if str(error).startswith(path) else f"{path}: {error}") from None
    except (OSError, KeyError, ValueError, TypeError, RecursionError, zipfile.BadZipFile) as error:
        raise WeightsFileError(f"{path}: not a readable Keras model or weights file ({error})") from None


def _input_shape(layers):
    for layer in layers:
        config = layer["config"]
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if shape:
            return tuple(int(size) for size in shape[1:])
    raise WeightsFileError("the Keras architecture does not say its input shape")


def model_from_keras_config(config, path="keras file"):
    """The tinycnn Sequential a Keras Sequential config describes (weights not set)."""
    from tinycnn.model import Sequential

    if config.get("class_name") != "Sequential":
        raise WeightsFileError(
            f"{path}: a Keras {config.get('class_name')} model; only Sequential models are read"
        )
    specs = config["config"]["layers"]
    layers = []
    for index, spec in enumerate(specs):
        kind, settings = spec["class_name"], spec["config"]
        activation = settings.get("activation", "linear")
        if kind == "InputLayer":
            continue
        if kind == "Conv2D":
            layers.append(
                Conv2D(
                    settings["filters"],
                    tuple(settings["kernel_size"]),
                    tuple(settings["strides"]),
                    settings["padding"],
                )
            )
        elif kind == "MaxPooling2D":
            if settings.get("padding", "valid") != "valid":
                raise WeightsFileError(
                    f"{path}: MaxPooling2D with padding {settings['padding']!r} is not supported"
                )
            layers.append(
                MaxPool2D(tuple(settings["pool_size"]), tuple(settings["strides"] or settings["pool_size"]))
            )
        elif kind == "Dropout":
            layers.append(Dropout(settings["rate"]))
        elif kind == "Flatten":
            layers.append(Flatten())
        elif kind == "Dense":
            layers.append(Dense(settings["units"]))
        else:
            raise WeightsFileError(f"{path}: Keras layer {kind} has no tinycnn counterpart")
        if activation == "relu":
            layers.append(ReLU())
        elif activation == "softmax" and index == len(specs) - 1:
            pass  # tinycnn gives logits; softmax is the loss's (or the Recognizer's) business
        elif activation not in ("linear", None):
            raise WeightsFileError(f"{path}: activation {activation!r} in {kind} is not supported")
    return Sequential(layers, _input_shape(specs))


def _assign_by_automatic_names(model, by_name, path):
    """Keras 3 .weights.h5: conv2d, conv2d_1, ... to the Conv2D layers in order; dense, ... to Dense."""
    ordered = []
    for kind, prefix in ((Conv2D, "conv2d"), (Dense, "dense")):
        names = sorted(
            (name for name in by_name if re.fullmatch(rf"{prefix}(_\d+)?", name)),
            key=lambda name: int(name.rsplit("_", 1)[1]) if "_" in name else 0,
        )
        targets = [layer for layer in model.layers if isinstance(layer, kind)]
        if len(names) != len(targets):
            raise WeightsFileError(
                f"{path}: holds {len(names)} {kind.__name__} layers ({', '.join(names) or 'none'}), "
                f"the network has {len(targets)}"
            )
        ordered += list(zip(targets, names, strict=True))
    unknown = sorted(set(by_name) - {name for _, name in ordered})
    if unknown:
        raise WeightsFileError(f"{path}: layers {', '.join(unknown)} have no counterpart in the network")
    return [(layer, name, by_name[name]) for layer, name in ordered]


def load_keras(path, model=None):
    """A tinycnn Sequential with the weights of the Keras file at `path`: built from the file's
    architecture, or `model` (which a weights-only file needs) with its weights replaced."""
    path = os.fspath(path)
    config, weights = read_keras(path)
    if model is None:
        if config is None:
            raise WeightsFileError(f"{path}: holds weights only; pass the model they belong to")
        model = model_from_keras_config(config, path)
    if isinstance(weights, dict):
        pairs = _assign_by_automatic_names(model, weights, path)
    else:
        targets = [layer for layer in model.layers if layer.params]
        if len(weights) != len(targets):
            raise WeightsFileError(
                f"{path}: holds weights for {len(weights)} layers, the network has {len(targets)} with weights"
            )
        pairs = [(layer, name, arrays) for layer, (name, arrays) in zip(targets, weights, strict=True)]
    new = {}
    for layer, name, arrays in pairs:
        keys = list(layer.params)  # kernel, bias: Keras's order too
        if len(arrays) != len(keys):
            raise WeightsFileError(
                f"{path}: layer {name} holds {len(arrays)} arrays, {layer.describe()} has {len(keys)}"
            )
        for key, array in zip(keys, arrays, strict=True):
            if array.shape != layer.params[key].shape:
                raise WeightsFileError(
                    f"{path}: layer {name} {key} has shape {array.shape}, {layer.describe()} needs {layer.params[key].shape}"
                )
            new[f"{layer.name}/{key}"] = array.astype(model.dtype)
    model.set_weights(new, source=path)
    return model
