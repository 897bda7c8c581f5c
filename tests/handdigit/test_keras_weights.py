"""The seed app's Keras model brought along: a Keras 2 .h5 of the seed architecture (written here
with h5py in the layout tinycnn.keras_weights documents, from the shipped weights) works wherever
weights are accepted: Recognizer.load, `handdigit predict --weights`, `handdigit export`."""

import json

import numpy as np
import pytest

h5py = pytest.importorskip("h5py", reason="Keras files are read with h5py: pip install '.[keras-weights]'")

from handdigit.recognition.recognizer import Recognizer  # noqa: E402
from handdigit.resources import shipped_weights_path  # noqa: E402
from tinycnn import Sequential  # noqa: E402

from .helpers import run_handdigit  # noqa: E402

KERAS_NAMES = ["conv2d", "conv2d_1", "max_pooling2d", "dropout", "flatten", "dense", "dropout_1", "dense_1"]


@pytest.fixture(scope="module")
def seed_h5(tmp_path_factory):
    """The shipped digit network as the seed app's Keras 2 `model.save` would have written it."""
    digits = Sequential.load(shipped_weights_path())
    weighted = [layer for layer in digits.layers if layer.params]
    path = tmp_path_factory.mktemp("keras") / "seed.h5"
    with h5py.File(path, "w") as h5file:
        h5file.attrs["keras_version"] = "2.15.0"
        h5file.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
        group = h5file.create_group("model_weights")
        group.attrs["layer_names"] = np.array(KERAS_NAMES, dtype="S")
        with_weights = iter(weighted)
        for name in KERAS_NAMES:
            layer_group = group.create_group(name)
            if name.startswith(("conv2d", "dense")):
                layer = next(with_weights)
                layer_group.attrs["weight_names"] = np.array(
                    [f"{name}/kernel:0", f"{name}/bias:0"], dtype="S"
                )
                layer_group.create_dataset(f"{name}/kernel:0", data=layer.params["kernel"])
                layer_group.create_dataset(f"{name}/bias:0", data=layer.params["bias"])
            else:
                layer_group.attrs["weight_names"] = np.array([], dtype="S")
    return path, digits


def test_the_recognizer_reads_the_seed_apps_keras_file(seed_h5):
    path, digits = seed_h5
    recognizer = Recognizer.load(path)
    images = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(recognizer.logits(images), digits.predict(images[..., None]), atol=1e-6)
    assert recognizer.calibration.temperature == 1.0 and recognizer.calibration.score is None


def test_predict_and_export_take_a_keras_file(seed_h5, tmp_path):
    from PIL import Image

    from handdigit.preprocess import rasterize

    path, _ = seed_h5
    seven = tmp_path / "seven.png"
    Image.fromarray(rasterize([[(80, 60), (200, 58), (160, 140), (120, 240)]], 280, 18)).save(seven)
    result = run_handdigit("predict", seven, "--weights", path)
    assert result.returncode == 0 and result.stdout.startswith(f"{seven}: 7"), result.stderr
    exported = run_handdigit("export", "--onnx", tmp_path / "seed.onnx", "--weights", path)
    assert exported.returncode == 0, exported.stderr


def test_a_keras_file_of_another_architecture_is_one_line(tmp_path):
    from pathlib import Path

    small = Path(__file__).parents[1] / "fixtures" / "keras" / "seed-small-keras2.h5"
    result = run_handdigit("predict", small, "--weights", small)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "layer conv2d kernel has shape (3, 3, 1, 4)" in result.stderr
