"""Keras weights into tinycnn, against fixtures Keras itself wrote (tests/fixtures/keras, made by
make_fixtures.py there): each format reproduces the logits Keras recorded within 1e-5; what does
not fit is one WeightsFileError naming it."""

from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py", reason="Keras files are read with h5py: pip install '.[keras-weights]'")

from tinycnn import Conv2D, Dense, Flatten, ReLU, Sequential, WeightsFileError  # noqa: E402
from tinycnn.keras_weights import load_keras  # noqa: E402

FIXTURES = Path(__file__).parents[1] / "fixtures" / "keras"


def recorded(which):
    data = np.load(FIXTURES / f"{which}-logits.npz")
    return data["inputs"], data["logits"]


@pytest.mark.parametrize(
    ("name", "which"), [("seed-small-keras2.h5", "keras2"), ("seed-small.keras", "keras3")]
)
def test_a_saved_keras_model_rebuilds_with_the_logits_keras_gave(name, which):
    model = load_keras(FIXTURES / name)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "ReLU", "Conv2D", "ReLU", "MaxPool2D", "Dropout", "Flatten", "Dense", "ReLU", "Dropout", "Dense",
    ]  # fmt: skip
    inputs, logits = recorded(which)
    np.testing.assert_allclose(model.predict(inputs), logits, atol=1e-5, rtol=0)


def test_a_keras3_weights_file_goes_into_the_model_it_belongs_to():
    model = load_keras(FIXTURES / "seed-small.keras")
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = 0
    load_keras(FIXTURES / "seed-small.weights.h5", model)
    inputs, logits = recorded("keras3")
    np.testing.assert_allclose(model.predict(inputs), logits, atol=1e-5, rtol=0)
    with pytest.raises(WeightsFileError, match="holds weights only; pass the model"):
        load_keras(FIXTURES / "seed-small.weights.h5")


def test_weights_that_do_not_fit_the_model_are_named(tmp_path):
    other = Sequential([Conv2D(4, 3), ReLU(), Flatten(), Dense(10)], input_shape=(10, 10, 1))
    with pytest.raises(WeightsFileError, match="holds weights for 4 layers, the network has 2"):
        load_keras(FIXTURES / "seed-small-keras2.h5", other)
    with pytest.raises(WeightsFileError, match="holds 2 Conv2D layers"):
        load_keras(FIXTURES / "seed-small.weights.h5", other)
    wide = Sequential(
        [Conv2D(5, 3), ReLU(), Conv2D(6, 3), ReLU(), Flatten(), Dense(8), Dense(10)], input_shape=(10, 10, 1)
    )
    with pytest.raises(WeightsFileError, match=r"layer conv2d kernel has shape \(3, 3, 1, 4\)"):
        load_keras(FIXTURES / "seed-small.weights.h5", wide)


def test_files_that_are_not_keras_files_get_one_sentence(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(WeightsFileError, match="not a readable Keras model or weights file"):
        load_keras(text)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w"):
        pass
    with pytest.raises(WeightsFileError, match="no model_weights, layer_names or layers group"):
        load_keras(empty, Sequential([Flatten(), Dense(2)], input_shape=(2, 2, 1)))
    with pytest.raises(WeightsFileError, match="no such file"):
        load_keras(tmp_path / "missing.keras")
