"""tinycnn.checkpoint: a run continued from a checkpoint equals the run that never stopped, and a
checkpoint that does not fit changes nothing and says why."""

import json

import numpy as np
import pytest

from tinycnn import (
    SGD,
    Adam,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    checkpoint,
)
from tinycnn.errors import WeightsFileError


def network(seed=0):
    layers = [
        Conv2D(4, 3),
        ReLU(),
        MaxPool2D(2),
        Dropout(0.3),
        Flatten(),
        Dense(16),
        ReLU(),
        Dropout(0.5),
        Dense(3),
    ]
    return Sequential(layers, input_shape=(10, 10, 1), seed=seed)


def train(model, optimizer, rng, steps):
    """`steps` training steps on batches the generator `rng` draws (images and labels)."""
    loss = SoftmaxCrossEntropy()
    for _ in range(steps):
        x = rng.random((8, 10, 10, 1), dtype=np.float32)
        labels = rng.integers(0, 3, 8)
        loss.forward(model.forward(x, training=True), labels)
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(model)


@pytest.mark.parametrize(
    "make_optimizer", [lambda: Adam(1e-2), lambda: SGD(0.1, momentum=0.9, nesterov=True)]
)
def test_a_resumed_run_equals_the_uninterrupted_one_bit_for_bit(tmp_path, make_optimizer):
    model, optimizer, rng = network(), make_optimizer(), np.random.default_rng(5)
    train(model, optimizer, rng, 3)
    path = checkpoint.save(
        tmp_path / "run.npz", model, optimizer, {"batches": rng}, {"epoch": 3, "note": "é"}
    )
    train(model, optimizer, rng, 3)  # the run that never stopped

    resumed, resumed_optimizer, resumed_rng = network(seed=99), make_optimizer(), np.random.default_rng(0)
    metadata = checkpoint.load(path, resumed, resumed_optimizer, {"batches": resumed_rng})
    assert metadata == {"epoch": 3, "note": "é"}
    assert resumed_optimizer.iterations == 3
    train(resumed, resumed_optimizer, resumed_rng, 3)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(resumed.get_weights()[key], value, err_msg=key)
    assert resumed.rng_state() == model.rng_state()
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind


def test_nothing_changes_when_a_checkpoint_does_not_fit(tmp_path):
    model, optimizer = network(), Adam(1e-2)
    train(model, optimizer, np.random.default_rng(1), 1)
    path = checkpoint.save(tmp_path / "run.npz", model, optimizer, {"batches": np.random.default_rng(2)})

    other = Sequential([Flatten(), Dense(3)], input_shape=(10, 10, 1))
    weights = other.get_weights()
    with pytest.raises(WeightsFileError, match="saved for a different architecture"):
        checkpoint.load(path, other, Adam(1e-2))
    for key, value in weights.items():
        np.testing.assert_array_equal(other.get_weights()[key], value)

    fresh, sgd, rng = network(seed=7), SGD(0.1), np.random.default_rng(3)
    weights, rng_state = fresh.get_weights(), rng.bit_generator.state
    with pytest.raises(WeightsFileError, match=f"{tmp_path}.*saved by Adam, cannot load into SGD"):
        checkpoint.load(path, fresh, sgd, {"batches": rng})
    for key, value in weights.items():  # the weights it had copied in are put back
        np.testing.assert_array_equal(fresh.get_weights()[key], value)
    assert sgd.iterations == 0 and rng.bit_generator.state == rng_state

    with pytest.raises(WeightsFileError, match="no generator named augment"):
        checkpoint.load(path, network(), Adam(1e-2), {"augment": np.random.default_rng()})


def test_files_that_are_not_checkpoints_are_clear_errors(tmp_path):
    model = network()
    model.save(tmp_path / "weights.npz")
    with pytest.raises(WeightsFileError, match="not a tinycnn checkpoint"):
        checkpoint.load(tmp_path / "weights.npz", model, Adam())
    with pytest.raises(WeightsFileError, match="no such file"):
        checkpoint.load(tmp_path / "missing.npz", model, Adam())
    np.savez(
        tmp_path / "other.npz",
        __checkpoint__=np.array(json.dumps({"format": "tinycnn.checkpoint", "format_version": 9})),
    )
    with pytest.raises(WeightsFileError, match="format version 9 is not supported"):
        checkpoint.load(tmp_path / "other.npz", model, Adam())


def test_metadata_must_be_json_ready_and_a_failed_save_keeps_the_old_file(tmp_path):
    model, optimizer = network(), Adam()
    path = checkpoint.save(tmp_path / "run.npz", model, optimizer, metadata={"epoch": 1})
    before = (tmp_path / "run.npz").read_bytes()
    with pytest.raises(TypeError, match="metadata must be JSON-ready"):
        checkpoint.save(path, model, optimizer, metadata={"when": object()})
    assert (tmp_path / "run.npz").read_bytes() == before
    assert checkpoint.load(path, network(), Adam()) == {"epoch": 1}
