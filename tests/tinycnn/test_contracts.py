"""The layer and model contracts: fresh outputs (never workspace views), inputs left untouched,
forward/backward pairing, inference mode, predict, and gradients that overwrite, not accumulate."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy

from .helpers import assert_close, built

ROOT = Path(__file__).resolve().parents[2]


def small_network(dropout=True, seed=1):
    """conv same -> relu -> pool -> conv strided -> relu -> [dropout] -> flatten -> dense, float64."""
    layers = [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)), ReLU()]
    layers += [Dropout(0.5)] if dropout else []
    layers += [Flatten(), Dense(5)]
    return Sequential(layers, input_shape=(8, 9, 2), dtype=np.float64, seed=seed)


def workspace_buffers(layer):
    return list(layer.workspace._buffers.values())


@pytest.mark.parametrize(
    "make", [lambda: Conv2D(3, 3, padding="same"), lambda: Conv2D(2, 2, strides=2), lambda: MaxPool2D(2)]
)
def test_outputs_survive_the_next_forward_and_are_not_workspace_views(make):
    """A second forward leaves the first output intact; outputs and dx never share workspace memory."""
    layer = built(make(), (6, 6, 2))
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((4, 6, 6, 2)), rng.standard_normal((4, 6, 6, 2))
    y1 = layer.forward(x1)
    y1_copy = y1.copy()
    y2 = layer.forward(x2)
    np.testing.assert_array_equal(y1, y1_copy)
    dx = layer.backward(np.ones_like(y2))
    assert workspace_buffers(layer), "the layer was expected to use its workspace"
    for buffer in workspace_buffers(layer):
        for array in (y1, y2, dx):
            assert not np.shares_memory(array, buffer)


@pytest.mark.parametrize(
    "make", [lambda: Conv2D(3, (2, 3), strides=(2, 1), padding="same"), lambda: MaxPool2D(2)]
)
def test_smaller_batch_after_larger_reuses_workspace_correctly(make):
    """A batch of 2 after a batch of 5 (a view of the bigger buffer) gives what a fresh layer gives."""
    layer, fresh = built(make(), (6, 7, 2)), built(make(), (6, 7, 2))
    rng = np.random.default_rng(1)
    big, small = rng.standard_normal((5, 6, 7, 2)), rng.standard_normal((2, 6, 7, 2))
    layer.forward(big)
    layer.backward(rng.standard_normal((5, *layer.output_shape)))
    dy = rng.standard_normal((2, *layer.output_shape))
    np.testing.assert_array_equal(layer.forward(small), fresh.forward(small))
    np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))
    for key in layer.grads:
        np.testing.assert_array_equal(layer.grads[key], fresh.grads[key])


LAYERS = {
    "conv": (lambda: Conv2D(2, 3, padding="same"), (5, 5, 2)),
    "maxpool": (lambda: MaxPool2D(2), (5, 5, 2)),
    "relu": (lambda: ReLU(), (5, 5, 2)),
    "dropout": (lambda: Dropout(0.5, seed=0), (5, 5, 2)),
    "flatten": (lambda: Flatten(), (5, 5, 2)),
    "dense": (lambda: Dense(3), (7,)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_do_not_modify_their_inputs(name):
    """forward never changes x and backward never changes dy (training mode, so dropout masks)."""
    make, shape = LAYERS[name]
    layer = built(make(), shape)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, *shape))
    dy = rng.standard_normal((3, *layer.output_shape))
    x_copy, dy_copy = x.copy(), dy.copy()
    layer.forward(x, training=True)
    layer.backward(dy)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dy, dy_copy)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_needs_its_own_forward(name):
    """A second backward, or a backward after forward(keep=False), raises a RuntimeError naming the layer."""
    make, shape = LAYERS[name]
    layer = built(make(), shape)
    x = np.random.default_rng(0).standard_normal((2, *shape))
    dy = np.ones((2, *layer.output_shape))
    layer.forward(x)
    layer.backward(dy)
    with pytest.raises(RuntimeError, match=f"{type(layer).__name__}.*backward needs a forward"):
        layer.backward(dy)
    layer.forward(x, keep=False)
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        layer.backward(dy)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_rejects_a_gradient_of_another_batch_size(name):
    """backward with dy for fewer images than forward saw raises ShapeError instead of a wrong dx.

    Layer.check_gradient only compares dy.shape[1:]; MaxPool2D then returns a dx whose last
    images are uninitialised memory (np.empty), ReLU broadcasts a batch of 1 silently, Dropout in
    inference returns dy as is, and Conv2D/Dense fail inside NumPy with a message that names no layer.
    """
    from tinycnn import ShapeError

    make, shape = LAYERS[name]
    layer = built(make(), shape)
    x = np.random.default_rng(0).standard_normal((3, *shape))
    layer.forward(x)
    dy = np.ones((1, *layer.output_shape))  # fewer images than the forward: never out of bounds
    with pytest.raises(ShapeError, match=f"{type(layer).__name__}.*gradient"):
        layer.backward(dy)


def test_gradients_overwrite_not_accumulate():
    """Two identical forward/backward passes leave identical grads (grads are overwritten)."""
    model = small_network()
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((2, 8, 9, 2)), rng.standard_normal((2, 5))
    model.forward(x)
    model.backward(dy)
    first = {(layer.name, key): g.copy() for layer in model.layers for key, g in layer.grads.items()}
    model.forward(x)
    model.backward(dy)
    for layer in model.layers:
        for key, g in layer.grads.items():
            np.testing.assert_array_equal(g, first[layer.name, key])


def test_input_gradient_false_skips_dx_only():
    """backward(input_gradient=False) returns None but fills the same parameter grads."""
    model = small_network()
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((2, 8, 9, 2)), rng.standard_normal((2, 5))
    model.forward(x)
    assert model.backward(dy) is not None
    expected = {(layer.name, key): g.copy() for layer in model.layers for key, g in layer.grads.items()}
    model.forward(x)
    assert model.backward(dy, input_gradient=False) is None
    for layer in model.layers:
        for key, g in layer.grads.items():
            np.testing.assert_array_equal(g, expected[layer.name, key])


def test_backward_after_inference_forward_treats_dropout_as_identity():
    """backward after forward(training=False) works and equals the same network without dropout."""
    with_dropout, without = small_network(dropout=True), small_network(dropout=False)
    without.set_weights(with_dropout.get_weights())
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((3, 8, 9, 2)), rng.integers(0, 5, 3)
    results = []
    for model in (with_dropout, without):
        loss = SoftmaxCrossEntropy()
        value = loss.forward(model.forward(x, training=False), labels)
        dx = model.backward(loss.backward())
        results.append(
            (value, dx, {f"{lay.name}/{k}": g.copy() for lay in model.layers for k, g in lay.grads.items()})
        )
    (value_a, dx_a, grads_a), (value_b, dx_b, grads_b) = results
    assert value_a == value_b
    np.testing.assert_array_equal(dx_a, dx_b)
    assert grads_a.keys() == grads_b.keys()
    for key in grads_a:
        np.testing.assert_array_equal(grads_a[key], grads_b[key])


def test_predict_equals_inference_forward_and_keeps_nothing():
    """predict (in batches of 3 over 7 images) equals forward(training=False); backward after it raises."""
    model = small_network()
    x = np.random.default_rng(0).standard_normal((7, 8, 9, 2))
    expected = model.forward(x, training=False)
    predicted = model.predict(x, batch_size=3)
    assert predicted.shape == (7, 5)
    assert_close(predicted, expected, 1e-12)
    with pytest.raises(RuntimeError, match="Dense 'dense'.*backward needs a forward"):
        model.backward(np.ones((7, 5)))


def test_predict_is_deterministic_and_ignores_dropout():
    """predict twice gives the same outputs (dropout is off), and does not disturb dropout generators."""
    model = small_network()
    state = model.rng_state()
    x = np.random.default_rng(0).standard_normal((4, 8, 9, 2))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert model.rng_state() == state


def test_dropout_training_changes_outputs_and_inference_does_not():
    """forward(training=True) applies a fresh mask each call; forward(training=False) is repeatable."""
    model = small_network()
    x = np.random.default_rng(0).standard_normal((4, 8, 9, 2))
    assert not np.array_equal(model.forward(x, training=True), model.forward(x, training=True))
    np.testing.assert_array_equal(model.forward(x), model.forward(x))


def test_maxpool_backward_with_a_larger_batch_does_not_crash(tmp_path):
    """MaxPool2D.backward with dy for more images than forward saw raises ShapeError (today: Numba
    writes past the end of dx and the process dies with SIGSEGV), checked in a subprocess."""
    script = tmp_path / "larger_batch.py"
    script.write_text(
        "import numpy as np\n"
        "from tinycnn import MaxPool2D, ShapeError\n"
        "layer = MaxPool2D(2)\n"
        "layer.build((4, 4, 1), None, np.float64)\n"
        "layer.forward(np.zeros((1, 4, 4, 1)))\n"
        "try:\n"
        "    layer.backward(np.ones((64, 2, 2, 1)))\n"
        "except ShapeError as error:\n"
        "    print('ShapeError:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, f"exit code {result.returncode}: {result.stderr[-500:]}"
    assert "ShapeError: MaxPool2D" in result.stdout
