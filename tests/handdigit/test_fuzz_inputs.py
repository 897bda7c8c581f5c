"""Fuzzing the three readers of files from someone else: weights (.npz), MNIST (IDX, gzip) and
images. Whatever the bytes, each either reads them or raises its own documented error with one
sentence: never another exception, never a hang, never unbounded memory. Hypothesis mutates
valid files (bytes flipped, cut, inserted, members rewritten) and builds hostile ones from scratch."""

import gzip
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handdigit.data.mnist import MnistError, parse_idx, read_idx_file
from handdigit.recognition.images import UnreadableImage, load_image
from tinycnn import Conv2D, Dense, Flatten, ReLU, Sequential, WeightsFileError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def small_weights_bytes(tmp_path):
    model = Sequential([Conv2D(2, 3), ReLU(), Flatten(), Dense(3)], input_shape=(6, 6, 1), seed=0)
    model.save(tmp_path / "small.npz")
    return (tmp_path / "small.npz").read_bytes()


@st.composite
def mutated(draw, original):
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif data:
            value = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
            data[at : at + 8] = bytes([value]) * min(8, len(data) - at)
    return bytes(data)


@pytest.fixture(scope="module")
def weights_bytes(tmp_path_factory):
    return small_weights_bytes(tmp_path_factory.mktemp("weights"))


def test_the_unmutated_weights_file_loads(tmp_path, weights_bytes):
    path = tmp_path / "w.npz"
    path.write_bytes(weights_bytes)
    assert Sequential.load(path).parameter_count > 0


@FUZZ
@given(data=st.data())
def test_damaged_weights_files_load_or_raise_weights_file_error(tmp_path_factory, weights_bytes, data):
    path = tmp_path_factory.mktemp("fuzz") / "w.npz"
    path.write_bytes(data.draw(mutated(weights_bytes)))
    try:
        Sequential.load(path)
    except WeightsFileError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)


@FUZZ
@given(
    members=st.dictionaries(
        st.text(st.characters(codec="ascii", exclude_characters="\0/"), min_size=1, max_size=12),
        st.binary(max_size=200),
        max_size=4,
    ),
    architecture=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ),
)
def test_hostile_archives_built_from_scratch_raise_weights_file_error(
    tmp_path_factory, members, architecture
):
    import json

    path = tmp_path_factory.mktemp("hostile") / "w.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name + ".npy", b"\x93NUMPY\x01\x00" + content)
        text = json.dumps({"format": "tinycnn.Sequential", "format_version": 1, "layers": architecture})
        buffer = io.BytesIO()
        np.save(buffer, np.array(text))
        archive.writestr("__architecture__.npy", buffer.getvalue())
    with pytest.raises(WeightsFileError):
        Sequential.load(path)


def idx_bytes():
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    return b"\x00\x00\x08\x03" + np.array([3, 4, 5], ">u4").tobytes() + images.tobytes()


@FUZZ
@given(data=st.data())
def test_damaged_idx_bytes_parse_or_raise_mnist_error(data):
    try:
        array = parse_idx(data.draw(mutated(idx_bytes())), "fuzzed")
        assert array.size >= 0
    except MnistError as error:
        assert str(error).startswith("fuzzed:")


@FUZZ
@given(data=st.data())
def test_damaged_gzip_files_read_or_raise_mnist_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("idx") / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(data.draw(mutated(gzip.compress(idx_bytes()))))
    try:
        read_idx_file(path)
    except MnistError as error:
        assert str(path) in str(error)


def png_bytes():
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (12, 10), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes():
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
        buffer, "JPEG"
    )
    return buffer.getvalue()


@FUZZ
@given(data=st.data(), original=st.sampled_from(["png", "jpeg"]))
def test_damaged_images_decode_or_raise_unreadable_image(data, original):
    source = data.draw(mutated(png_bytes() if original == "png" else jpeg_bytes()))
    try:
        luminance, alpha = load_image(source)
        assert luminance.ndim == 2 and np.isfinite(luminance).all()
    except UnreadableImage as error:
        assert str(error) and "\n" not in str(error)
