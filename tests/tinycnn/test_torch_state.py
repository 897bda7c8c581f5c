"""PyTorch state_dicts in and out, against PyTorch itself: a tinycnn network's state_dict loads
strictly into the equivalent torch.nn.Sequential and gives the same logits; a trained-in-PyTorch
state_dict (random weights, non-zero biases) loads into tinycnn and gives PyTorch's logits; .pt
files are read with weights_only=True; wrong keys and shapes are one WeightsFileError."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, WeightsFileError
from tinycnn.torch_state import load_state_dict, to_state_dict, torch_sequential

torch = pytest.importorskip("torch", reason="PyTorch (CPU) is the other side here: pip install '.[peers]'")


def reference_like(seed=0, input_shape=(28, 28, 1), units=10):
    return Sequential(
        [Conv2D(8, 3), ReLU(), Conv2D(6, 3, padding="same"), ReLU(), MaxPool2D(2), Dropout(0.25), Flatten(),
         Dense(12), ReLU(), Dropout(0.5), Dense(units)],
        input_shape=input_shape, seed=seed,
    )  # fmt: skip


def randomise(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.standard_normal(value.shape) * 0.3


def torch_logits(network, images):
    with torch.no_grad():
        return network(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()


def test_keys_are_those_of_the_equivalent_torch_sequential():
    model = reference_like()
    state = to_state_dict(model)
    assert list(state) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "7.weight",
        "7.bias",
        "10.weight",
        "10.bias",
    ]
    assert list(torch_sequential(model).state_dict()) == list(state)
    assert state["0.weight"].shape == (8, 1, 3, 3) and state["7.weight"].shape == (12, 13 * 13 * 6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(8, 14), channels=st.integers(1, 3))
def test_tinycnn_to_torch_gives_the_same_logits(seed, size, channels):
    model = reference_like(seed, (size, size, channels), units=4)
    randomise(model, seed)
    images = np.random.default_rng(seed + 1).random((5, size, size, channels), dtype=np.float32)
    np.testing.assert_allclose(
        torch_logits(torch_sequential(model), images), model.predict(images), atol=1e-4
    )


def test_torch_to_tinycnn_gives_torchs_logits_through_a_pt_file(tmp_path):
    torch.manual_seed(3)
    network = torch_sequential(reference_like())  # its architecture, then new weights from PyTorch
    for parameter in network.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    torch.save(network.state_dict(), tmp_path / "net.pt")
    model = load_state_dict(reference_like(seed=9), tmp_path / "net.pt")
    images = np.random.default_rng(4).random((6, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(model.predict(images), torch_logits(network.eval(), images), atol=1e-4)
    again = to_state_dict(model)  # and back: the same numbers
    for key, value in network.state_dict().items():
        np.testing.assert_array_equal(again[key], value.numpy())


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pt_file_holding_code_is_never_unpickled(tmp_path):
    import os
    import pickle

    marker = tmp_path / "unpickled"

    class MakesDirectoryWhenUnpickled:
        def __reduce__(self):
            return (os.makedirs, (str(marker),))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"0.weight": MakesDirectoryWhenUnpickled()}))
    with pytest.raises(WeightsFileError, match="not a readable PyTorch state_dict"):
        load_state_dict(reference_like(), tmp_path / "evil.pt")
    assert not marker.exists(), "loading the file ran pickled code"


def test_wrong_keys_and_shapes_are_named():
    model = reference_like()
    state = to_state_dict(model)
    del state["7.bias"]
    state["8.weight"] = np.zeros(3)
    with pytest.raises(WeightsFileError, match=r"missing 7.bias; unexpected 8.weight"):
        load_state_dict(model, state)
    state = to_state_dict(model)
    state["0.weight"] = np.zeros((8, 3, 3, 1), np.float32)
    with pytest.raises(
        WeightsFileError,
        match=r"0.weight \(Conv2D 'conv2d'\) has shape \(8, 3, 3, 1\), expected \(8, 1, 3, 3\)",
    ):
        load_state_dict(model, state)
