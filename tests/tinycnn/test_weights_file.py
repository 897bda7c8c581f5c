"""Weights files: bit-exact round trips, atomic writes, and clear WeightsFileErrors for every kind of
damaged or mismatched file (and never unpickling)."""

import json
import os
import re
import zipfile

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, WeightsFileError


def network(dtype=np.float32, seed=0, units=4):
    return Sequential(
        [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)), ReLU(),
         Dropout(0.25), Flatten(), Dense(units)],
        input_shape=(8, 9, 2), dtype=dtype, seed=seed,
    )  # fmt: skip


def arrays_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def rewrite(path, arrays):
    """Write `arrays` to `path` as a plain .npz (the way someone else's tool might)."""
    with open(path, "wb") as file:
        np.savez(file, **arrays)


@pytest.fixture
def saved(tmp_path):
    """A float32 model with non-zero biases, saved to tmp_path/model.npz."""
    model = network()
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][...] = np.random.default_rng(1).standard_normal(layer.params["bias"].shape)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype):
    """Sequential.load rebuilds the architecture and every parameter bit for bit; outputs are identical."""
    model = network(dtype)
    path = tmp_path / "model.npz"
    assert model.save(path) == str(path)
    loaded = Sequential.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.architecture() == model.architecture()
    assert loaded.dtype == dtype
    weights, loaded_weights = model.get_weights(), loaded.get_weights()
    assert weights.keys() == loaded_weights.keys()
    for key in weights:
        assert loaded_weights[key].dtype == weights[key].dtype
        assert loaded_weights[key].tobytes() == weights[key].tobytes(), key
    x = np.random.default_rng(0).standard_normal((3, 8, 9, 2)).astype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_load_weights_into_same_architecture(saved):
    """load_weights copies every parameter bit for bit into a model of the same architecture."""
    model, path = saved
    other = network(seed=99)
    assert not np.array_equal(other.layers[0].params["kernel"], model.layers[0].params["kernel"])
    other.load_weights(path)
    for key, value in model.get_weights().items():
        assert other.get_weights()[key].tobytes() == value.tobytes()


def test_no_temporary_file_is_left_after_saving(saved):
    """Saving leaves exactly the target file in its directory."""
    _, path = saved
    assert os.listdir(path.parent) == [path.name]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(saved, monkeypatch):
    """If writing fails midway (np.savez raises after writing some bytes), the old file is intact
    and no temporary file is left behind; a new target is never created half-written."""
    model, path = saved
    before = path.read_bytes()

    def broken_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half of an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        network(seed=5).save(path)
    assert path.read_bytes() == before
    with pytest.raises(OSError, match="disk full"):
        model.save(path.parent / "new.npz")
    assert sorted(os.listdir(path.parent)) == [path.name]
    monkeypatch.undo()
    assert Sequential.load(path).get_weights().keys() == model.get_weights().keys()


def test_interrupted_write_keeps_the_old_file(saved, monkeypatch):
    """A KeyboardInterrupt during the write (Ctrl-C) also keeps the old file and removes the temporary."""
    _, path = saved
    before = path.read_bytes()

    def interrupted_savez(file, *args, **kwargs):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        network(seed=5).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def test_missing_file(tmp_path):
    """Loading a file that does not exist names the path."""
    with pytest.raises(WeightsFileError, match=re.escape(f"{tmp_path / 'nope.npz'}: no such file")):
        Sequential.load(tmp_path / "nope.npz")


def test_truncated_file(saved):
    """A file cut in half is reported as not a readable .npz file."""
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsFileError, match="not a readable .npz file"):
        Sequential.load(path)
    with pytest.raises(WeightsFileError, match="not a readable .npz file"):
        network().load_weights(path)


def test_corrupted_member(saved):
    """Flipped bytes inside a stored array fail the zip CRC check and give WeightsFileError."""
    _, path = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("dense/kernel.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200  # inside the data
    data[start : start + 8] = bytes(8 * [0xFF])
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsFileError, match="not a readable .npz file"):
        Sequential.load(path)


def test_random_bytes(tmp_path):
    """A file of random bytes is reported as not a readable .npz file (and is not unpickled)."""
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(WeightsFileError, match="not a readable .npz file"):
        Sequential.load(path)


def test_missing_parameter(saved):
    """A file without one parameter names the missing layer/parameter."""
    _, path = saved
    arrays = arrays_of(path)
    del arrays["dense/kernel"]
    rewrite(path, arrays)
    with pytest.raises(
        WeightsFileError, match="parameters do not match the architecture: missing dense/kernel"
    ):
        Sequential.load(path)
    with pytest.raises(WeightsFileError, match="missing dense/kernel"):
        network().load_weights(path)


def test_unexpected_parameter(saved):
    """An extra array in the file is named as unexpected."""
    _, path = saved
    arrays = arrays_of(path)
    arrays["dense/extra"] = np.zeros(3, np.float32)
    rewrite(path, arrays)
    with pytest.raises(WeightsFileError, match="unexpected dense/extra"):
        Sequential.load(path)


def test_wrong_shape(saved):
    """A parameter of the wrong shape names the layer, its type, the parameter and the expected shape."""
    _, path = saved
    arrays = arrays_of(path)
    arrays["dense/kernel"] = np.zeros((5, 4), np.float32)
    rewrite(path, arrays)
    message = "layer 'dense' (Dense) parameter 'kernel': expected shape (12, 4), got (5, 4)"
    with pytest.raises(WeightsFileError, match=re.escape(message)):
        Sequential.load(path)


def test_wrong_dtype(saved):
    """A float64 array in a float32 model's file names the layer and the expected dtype."""
    _, path = saved
    arrays = arrays_of(path)
    arrays["conv2d/bias"] = arrays["conv2d/bias"].astype(np.float64)
    rewrite(path, arrays)
    message = "layer 'conv2d' (Conv2D) parameter 'bias': expected dtype float32, got float64"
    with pytest.raises(WeightsFileError, match=re.escape(message)):
        Sequential.load(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(saved, bad):
    """A parameter holding NaN or infinity is rejected, naming the layer and parameter."""
    model, path = saved
    arrays = arrays_of(path)
    arrays["conv2d_1/kernel"].flat[3] = bad
    rewrite(path, arrays)
    message = "layer 'conv2d_1' (Conv2D) parameter 'kernel': contains NaN or infinite values"
    with pytest.raises(WeightsFileError, match=re.escape(message)):
        Sequential.load(path)
    before = model.get_weights()
    with pytest.raises(WeightsFileError, match=re.escape(message)):
        model.load_weights(path)
    for key, value in model.get_weights().items():  # validated before anything is copied
        np.testing.assert_array_equal(value, before[key])


def test_architecture_mismatch_with_load_weights(saved):
    """load_weights into a different architecture says which field differs."""
    _, path = saved
    with pytest.raises(WeightsFileError, match="saved for a different architecture \\(layers: "):
        network(units=7).load_weights(path)
    with pytest.raises(
        WeightsFileError, match="saved for a different architecture \\(dtype: file has float32"
    ):
        network(dtype=np.float64).load_weights(path)
    other_input = Sequential([Conv2D(3, 3)], input_shape=(9, 9, 2))
    with pytest.raises(
        WeightsFileError, match="input_shape: file has \\[8, 9, 2\\], this model has \\[9, 9, 2\\]"
    ):
        other_input.load_weights(path)


def test_file_without_architecture(saved, tmp_path):
    """A bare .npz of parameters (no architecture entry) is not a tinycnn weights file."""
    model, _ = saved
    path = tmp_path / "bare.npz"
    rewrite(path, model.get_weights())
    with pytest.raises(WeightsFileError, match="not a tinycnn weights file \\(no __architecture__ entry\\)"):
        Sequential.load(path)
    with pytest.raises(WeightsFileError, match="no __architecture__ entry"):
        model.load_weights(path)


@pytest.mark.parametrize(
    ("architecture", "message"),
    [
        ("{not json", "the stored architecture is not valid JSON"),
        (json.dumps({"format": "keras"}), "not a tinycnn weights file"),
        (
            json.dumps({"format": "tinycnn.Sequential", "format_version": 99}),
            "format version 99 is not supported",
        ),
    ],
)
def test_bad_architecture_entry(saved, architecture, message):
    """An architecture entry that is not JSON, not tinycnn's, or of a future version is rejected."""
    _, path = saved
    arrays = arrays_of(path)
    arrays["__architecture__"] = np.array(architecture)
    rewrite(path, arrays)
    with pytest.raises(WeightsFileError, match=re.escape(message)):
        Sequential.load(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda spec: spec["layers"][0].update({"class": "Conv3D"}), "the stored architecture is not valid"),
        (lambda spec: spec["layers"][0]["config"].update({"filters": -1}), "filters must be a positive int"),
        (
            lambda spec: spec["layers"][0]["config"].update({"colour": "red"}),
            "the stored architecture is not valid",
        ),
    ],
)
def test_invalid_layer_in_architecture(saved, edit, message):
    """An unknown layer class or an invalid layer config in the file gives WeightsFileError."""
    _, path = saved
    arrays = arrays_of(path)
    spec = json.loads(str(arrays["__architecture__"]))
    edit(spec)
    arrays["__architecture__"] = np.array(json.dumps(spec))
    rewrite(path, arrays)
    with pytest.raises(WeightsFileError, match=message):
        Sequential.load(path)


class MakesDirectoryWhenUnpickled:
    """Unpickling this runs os.makedirs(path): a harmless stand-in for malicious code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.makedirs, (self.path,))


def test_object_array_is_never_unpickled(saved, tmp_path):
    """An .npz holding an object array is rejected without running the pickled code inside it."""
    _, path = saved
    marker = tmp_path / "unpickled"
    arrays = arrays_of(path)
    arrays["dense/kernel"] = np.array([MakesDirectoryWhenUnpickled(marker)], dtype=object)
    rewrite(path, arrays)
    assert not marker.exists()
    with pytest.raises(WeightsFileError, match="holds Python objects"):
        Sequential.load(path)
    with pytest.raises(WeightsFileError, match="holds Python objects"):
        network().load_weights(path)
    assert not marker.exists(), "loading the file unpickled an object"


def test_dropout_rng_state_round_trip():
    """rng_state/set_rng_state restore the dropout generators, so the same masks are drawn again."""
    model = network(dtype=np.float64)
    x = np.ones((2, 8, 9, 2))
    state = json.loads(json.dumps(model.rng_state()))  # JSON-ready, as checkpoints store it
    first = model.forward(x, training=True)
    model.set_rng_state(state)
    np.testing.assert_array_equal(model.forward(x, training=True), first)


def test_extra_arrays_are_stored_beside_the_model_and_loading_leaves_them_alone(tmp_path):
    """An application's own entries ("extra/NAME") round-trip, and the model loads as if they were not there."""
    from tinycnn.model import read_extra

    model = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=0)
    path = tmp_path / "weights.npz"
    model.save(path, extra={"app.settings": np.array('{"threshold": 0.5}'), "app.table": np.arange(4.0)})
    extra = read_extra(path)
    assert set(extra) == {"app.settings", "app.table"} and str(extra["app.settings"]) == '{"threshold": 0.5}'
    np.testing.assert_array_equal(extra["app.table"], np.arange(4.0))
    loaded = Sequential.load(path)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)
    fresh = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=5)
    fresh.load_weights(path)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(fresh.get_weights()[key], value)
    model.save(tmp_path / "plain.npz")
    assert read_extra(tmp_path / "plain.npz") == {}
    with pytest.raises(TypeError, match="not a plain array"):
        model.save(tmp_path / "bad.npz", extra={"x": np.array([object()], dtype=object)})


def _architecture(path):
    return json.loads(str(arrays_of(path)["__architecture__"]))


def _with_architecture(path, spec):
    arrays = arrays_of(path)
    arrays["__architecture__"] = np.array(spec if isinstance(spec, str) else json.dumps(spec))
    rewrite(path, arrays)


def test_a_small_architecture_asking_for_gigabytes_is_refused_before_anything_is_allocated(
    saved, monkeypatch
):
    """1 KB of JSON declaring a Dense of 10^9 units would allocate 4 GB: refused from the stored sizes."""
    _, path = saved
    spec = _architecture(path)
    spec["layers"][-1]["config"]["units"] = 10**9
    _with_architecture(path, spec)
    allocated = []
    real_zeros = np.zeros
    monkeypatch.setattr(
        np, "zeros", lambda shape, *a, **k: allocated.append(shape) or real_zeros(shape, *a, **k)
    )
    with pytest.raises(
        WeightsFileError, match="needs 13,000,000,133 parameters but the file holds only 185 values"
    ):
        Sequential.load(path)
    assert not any(np.prod(shape) >= 10**9 for shape in allocated)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda spec: {**spec, "layers": [{"class": "ReLU", "config": {}, "name": f"r{i}"} for i in range(5000)]},
         "5,000 layers, more than the 1000 allowed"),
        (lambda spec: "[" * 100_000 + "]" * 100_000, "nested too deeply|not valid JSON"),
        (lambda spec: json.dumps({**spec, "padding": "x" * (2 << 20)}), "too long to be one"),
        (lambda spec: {**spec, "input_shape": [2**40, 9, 2]}, "not a sane image shape"),
    ],
    ids=["many-layers", "deep-nesting", "huge-text", "huge-input"],
)  # fmt: skip
def test_architectures_beyond_sane_limits_get_one_sentence(saved, make, message):
    _, path = saved
    _with_architecture(path, make(_architecture(path)))
    with pytest.raises(WeightsFileError, match=message):
        Sequential.load(path)


def _zip_with(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy_header(shape, dtype="<f4"):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_compressed_bombs_and_lying_headers_are_refused_before_they_are_read(tmp_path):
    """A 300 KB file inflating to 300 MB, a header declaring 4 TB over 16 bytes, 5,000 members."""
    bomb = tmp_path / "bomb.npz"
    _zip_with(bomb, {"dense/kernel.npy": _npy_header(((300 << 20) // 4,)) + b"\0" * (300 << 20)})
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(WeightsFileError, match="declare 300 MiB, more than the 256 MiB"):
        Sequential.load(bomb)
    liar = tmp_path / "liar.npz"
    _zip_with(liar, {"dense/kernel.npy": _npy_header((2**40,)) + b"\0" * 16})
    with pytest.raises(WeightsFileError, match=re.escape("declares shape (1099511627776,)")):
        Sequential.load(liar)
    crowd = tmp_path / "crowd.npz"
    _zip_with(crowd, {f"a{i}.npy": _npy_header((1,)) + b"\0" * 4 for i in range(5000)})
    with pytest.raises(WeightsFileError, match="5,000 arrays, more than the 4,096 allowed"):
        Sequential.load(crowd)


def test_deeply_nested_json_in_a_checkpoint_or_calibration_entry_is_one_sentence(saved, tmp_path):
    from handdigit.recognition.calibration import Calibration
    from tinycnn import SGD, checkpoint

    model, path = saved
    ckpt = tmp_path / "checkpoint.npz"
    checkpoint.save(ckpt, model, SGD(0.1))
    arrays = arrays_of(ckpt)
    state_key = next(key for key in arrays if key.startswith("__") and "architecture" not in key)
    arrays[state_key] = np.array("[" * 50_000 + "]" * 50_000)
    rewrite(ckpt, arrays)
    with pytest.raises(WeightsFileError, match="not valid JSON"):
        checkpoint.read_metadata(ckpt)
    with pytest.raises(WeightsFileError, match="not valid JSON"):
        Calibration.from_json("[" * 40_000 + "]" * 40_000)
