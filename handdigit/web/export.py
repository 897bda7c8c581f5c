"""`handdigit export-web DIR`: write the static drawing page, the network's weights included.

The folder gets the page's files as they are in handdigit/web/page/ and model.js, written here:

    HandDigit_MODEL = {"format": "handdigit.web-model", "format_version": 1,
                       "precision": "float16" or "float32",
                       "layers": [{"type": "conv2d", "input_shape": [28, 28, 1], "output_shape": ...,
                                   "kernel_size", "strides", "padding": [top, left],
                                   "kernel": offset, "bias": offset}, {"type": "relu"}, ...],
                       "weight_count": N, "weights": "<base64 of N little-endian floats>",
                       "calibration": {"temperature": T, "score": ..., "threshold": ...,
                                       "distance_weight": w, "distance_centre": c,
                                       "views": {"shift": s, "threshold": t1, "margin": m} or null},
                       "distance": {"means": offset, "centres": K, "whitening": offset} or null,
                       "unsure_below": 0.7, "source": "handdigit-cnn.npz"}

The feature distance's arrays (handdigit.recognition.distance: the K centres' mean features (K,
256), each digit's and then those of the digits taught, if any, and the whitening (256, 256), row
after row) follow the layers' weights in the same string.

A script, not a JSON file fetched at run time, so that index.html also works opened straight from
the disk (browsers refuse fetch() on file:// pages). Weights are float16 by default: 4.8 MB instead
of 9.5 MB, and the shipped network's answers on MNIST test are unchanged (benchmarks/static_page.py
measures it). The network with its not-a-digit output (eleven logits) is what the page runs, with
the temperature and rule stored beside it; a file without them (a Keras file, an older run) gives a
page that never says "not a digit", as the Recognizer does.

The files are written into a temporary folder inside DIR, then moved in, index.html last: an
interrupted export leaves DIR as it was.
"""

import base64
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from handdigit.recognition.recognizer import DEFAULT_THRESHOLD

PRECISIONS = ("float16", "float32")
PAGE_FILES = ("style.css", "preprocess.js", "network.js", "pad.js", "index.html")  # index.html last
MODEL_FILE = "model.js"
MAX_WEIGHT_BYTES = 10_000_000  # what a visitor downloads; the ceiling


class WebExportError(ValueError):
    """The page cannot be written as asked; the message says why and what to do."""


def export_web(directory, weights=None, precision="float16"):
    """Write the static page into `directory` (new, or an empty folder) for the network in
    `weights` (default: the shipped weights); returns {file name: size in bytes}."""
    from handdigit.recognition.calibration import Calibration, read_calibration
    from handdigit.recognition.distance import read_distance
    from handdigit.recognition.head import load_network
    from handdigit.resources import shipped_weights_path

    if precision not in PRECISIONS:
        raise WebExportError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    path = Path(weights) if weights is not None else shipped_weights_path()
    model = load_network(path)
    calibration = read_calibration(path) or Calibration()
    script = model_script(model, calibration, precision, source=path.name, distance=read_distance(path))
    directory = _prepared_directory(Path(directory))
    page = resources.files("handdigit.web") / "page"
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=directory))
    try:
        (staging / MODEL_FILE).write_text(script, encoding="utf-8")
        for name in PAGE_FILES:
            (staging / name).write_bytes((page / name).read_bytes())
        sizes = {}
        for name in (MODEL_FILE, *PAGE_FILES):
            os.chmod(staging / name, 0o666 & ~_umask())
            os.replace(staging / name, directory / name)
            sizes[name] = (directory / name).stat().st_size
        return sizes
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _prepared_directory(directory):
    if directory.exists() and not directory.is_dir():
        raise WebExportError(f"{directory}: is a file; give a new or empty folder")
    if directory.is_dir() and any(directory.iterdir()):
        raise WebExportError(
            f"{directory}: the folder is not empty; give a new or empty folder (nothing is overwritten)"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise WebExportError(f"{directory}: cannot write there ({error.strerror or error})") from None
    return directory


def layer_specs(model):
    """(layer descriptions for network.js, the weights in their order as one float32 array)."""
    from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

    specs, arrays, offset = [], [], 0

    def add_weights(*values):
        nonlocal offset
        offsets = []
        for value in values:
            offsets.append(offset)
            arrays.append(np.ascontiguousarray(value, np.float32).ravel())
            offset += value.size
        return offsets

    for layer in model.layers:
        shapes = {"input_shape": list(layer.input_shape), "output_shape": list(layer.output_shape)}
        if isinstance(layer, Conv2D):
            kernel, bias = add_weights(layer.params["kernel"], layer.params["bias"])
            geometry = layer.geometry
            specs.append(
                {
                    "type": "conv2d",
                    **shapes,
                    "kernel_size": list(layer.kernel_size),
                    "strides": list(layer.strides),
                    "padding": [geometry.pad_top, geometry.pad_left],
                    "kernel": kernel,
                    "bias": bias,
                }
            )
        elif isinstance(layer, Dense):
            kernel, bias = add_weights(layer.params["kernel"], layer.params["bias"])
            specs.append({"type": "dense", **shapes, "kernel": kernel, "bias": bias})
        elif isinstance(layer, MaxPool2D):
            specs.append(
                {
                    "type": "maxpool2d",
                    **shapes,
                    "pool_size": list(layer.pool_size),
                    "strides": list(layer.strides),
                }
            )
        elif isinstance(layer, (ReLU, Flatten, Dropout)):
            specs.append({"type": type(layer).__name__.lower(), **shapes})
        else:
            raise WebExportError(
                f"the web page has no {layer.describe()} layer (it runs Conv2D, ReLU, MaxPool2D, Dropout, Flatten, Dense)"
            )
    return specs, np.concatenate(arrays)


def model_script(model, calibration, precision="float16", source="weights", distance=None):
    """model.js's text: the layers, the weights (base64), the feature distance (a FeatureDistance
    or None) and the Recognizer's rule."""
    specs, values = layer_specs(model)
    layer_weights = int(values.size)
    distance_entry = None
    if distance is not None:  # the digits' means, then any taught ones (handdigit.recognition.distance)
        means = (
            distance.means
            if distance.taught_means is None
            else np.concatenate([distance.means, distance.taught_means])
        )
        distance_entry = {
            "means": int(values.size),
            "centres": len(means),
            "whitening": int(values.size + means.size),
        }
        values = np.concatenate([values, means.ravel(), distance.whitening.ravel()])
    stored = values.astype(np.dtype(precision).newbyteorder("<"))
    if not np.all(np.isfinite(stored)):
        raise WebExportError(
            f"some weights do not fit in {precision} (larger than {np.finfo(np.float16).max:g}); "
            "export with --precision float32"
        )
    if stored.nbytes > MAX_WEIGHT_BYTES:
        raise WebExportError(
            f"the weights take {stored.nbytes / 1e6:.1f} MB in {precision}; a page allows "
            f"{MAX_WEIGHT_BYTES / 1e6:.0f} MB (try --precision float16)"
        )
    entry = {
        "format": "handdigit.web-model",
        "format_version": 1,
        "source": source,
        "precision": precision,
        "layers": specs,
        "weight_count": layer_weights,
        "calibration": {
            "temperature": calibration.temperature,
            "score": calibration.score,
            "threshold": calibration.threshold,
            "distance_weight": calibration.distance_weight,
            "distance_centre": calibration.distance_centre,
            "views": None if calibration.views is None else calibration.views.to_dict(),
        },
        "distance": distance_entry,
        "unsure_below": DEFAULT_THRESHOLD,
        "weights": base64.b64encode(stored.tobytes()).decode("ascii"),
    }
    return (
        "/* The network for HandDigit's static page, written by `handdigit export-web`"
        " (see handdigit/web/export.py). */\n"
        f"var HandDigit_MODEL = {json.dumps(entry)};\n"
    )
