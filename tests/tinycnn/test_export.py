"""ONNX export of any tinycnn network: hypothesis-drawn networks (padding, strides, pooling, the
channels-last flatten order) give tinycnn's logits in onnxruntime within 1e-4; what cannot be
exported is refused with a reason. (The shipped network against two runtimes:
tests/handdigit/test_export.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential  # noqa: E402
from tinycnn.export import to_graph, to_onnx  # noqa: E402


def onnxruntime_logits(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": images})[0]


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(6, 13),
    channels=st.integers(1, 3),
    filters=st.integers(1, 4),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    pool=st.booleans(),
    units=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_drawn_networks_export_exactly(
    tmp_path_factory, size, channels, filters, kernel, stride, padding, pool, units, seed
):
    layers = [Conv2D(filters, kernel, strides=stride, padding=padding), ReLU()]
    if pool:
        layers.append(MaxPool2D(2))
    layers += [Dropout(0.3), Flatten(), Dense(units)]
    try:
        model = Sequential(layers, input_shape=(size, size, channels), seed=seed)
    except ValueError:  # a kernel or pool that does not fit: not a network
        return
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.standard_normal(value.shape)  # non-zero biases too
    path = to_onnx(model, tmp_path_factory.mktemp("drawn") / "net.onnx")
    images = rng.random((3, size, size, channels), dtype=np.float32)
    np.testing.assert_allclose(onnxruntime_logits(path, images), model.predict(images), atol=1e-4, rtol=1e-5)


def test_what_cannot_be_exported_is_refused_with_a_reason(tmp_path):
    conv_last = Sequential([Conv2D(2, 3), ReLU()], input_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="must end in Dense layers"):
        to_graph(conv_last)
    float64 = Sequential([Flatten(), Dense(2)], input_shape=(4, 4, 1), dtype=np.float64)
    with pytest.raises(ValueError, match="float32"):
        to_onnx(float64, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
