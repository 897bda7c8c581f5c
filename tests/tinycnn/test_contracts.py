"""The layer and model contracts, for the layers as written and for the fast engine's steps: fresh
outputs (never workspace views), inputs left untouched, forward/backward pairing, inference mode,
predict, and gradients that overwrite, not accumulate."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy

from .helpers import assert_close, built

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["plain", "fast"]


def small_network(dropout=True, seed=1, engine="fast"):
    """conv same -> relu -> pool -> conv strided -> relu -> [dropout] -> flatten -> dense, float64."""
    layers = [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)), ReLU()]
    layers += [Dropout(0.5)] if dropout else []
    layers += [Flatten(), Dense(5)]
    return Sequential(layers, input_shape=(8, 9, 2), dtype=np.float64, seed=seed, engine=engine)


class Alone:
    """A layer on its own: as written (engine "plain": its own forward/backward), or as the only
    layer of a float64 model run by the fast engine."""

    def __init__(self, layer, shape, engine):
        self.layer, self.engine = layer, engine
        if engine == "plain":
            built(layer, shape)
        else:
            self.model = Sequential([layer], input_shape=shape, dtype=np.float64, seed=0)

    @property
    def output_shape(self):
        return self.layer.output_shape

    def forward(self, x, training=False, keep=True):
        if self.engine == "plain":
            return self.layer.forward(x, training=training, keep=keep)
        if not keep:
            return self.model.predict(x)
        return self.model.forward(x, training=training)

    def backward(self, dy):
        return self.layer.backward(dy) if self.engine == "plain" else self.model.backward(dy)

    def workspace_buffers(self):
        step = self.model.plan(2)[0].step
        return list(step.workspace._buffers.values())


@pytest.mark.parametrize(
    "make", [lambda: Conv2D(3, 3, padding="same"), lambda: Conv2D(2, 2, strides=2), lambda: MaxPool2D(2)]
)
@pytest.mark.parametrize("engine", ENGINES)
def test_outputs_survive_the_next_forward_and_are_not_workspace_views(make, engine):
    """A second forward leaves the first output intact; outputs and dx never share the fast
    engine's workspace memory."""
    layer = Alone(make(), (6, 6, 2), engine)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((4, 6, 6, 2)), rng.standard_normal((4, 6, 6, 2))
    y1 = layer.forward(x1)
    y1_copy = y1.copy()
    y2 = layer.forward(x2, training=True)
    np.testing.assert_array_equal(y1, y1_copy)
    dx = layer.backward(np.ones_like(y2))
    if engine == "fast":
        buffers = layer.workspace_buffers()
        assert buffers, "the step was expected to use its workspace"
        for buffer in buffers:
            for array in (y1, y2, dx):
                assert not np.shares_memory(array, buffer)


@pytest.mark.parametrize(
    "make", [lambda: Conv2D(3, (2, 3), strides=(2, 1), padding="same"), lambda: MaxPool2D(2)]
)
@pytest.mark.parametrize("engine", ENGINES)
def test_smaller_batch_after_larger_reuses_workspace_correctly(make, engine):
    """A batch of 2 after a batch of 5 (a view of the bigger buffer) gives what a fresh one gives."""
    layer, fresh = Alone(make(), (6, 7, 2), engine), Alone(make(), (6, 7, 2), engine)
    fresh.layer.params = {key: value.copy() for key, value in layer.layer.params.items()}
    rng = np.random.default_rng(1)
    big, small = rng.standard_normal((5, 6, 7, 2)), rng.standard_normal((2, 6, 7, 2))
    layer.forward(big, training=True)
    layer.backward(rng.standard_normal((5, *layer.output_shape)))
    dy = rng.standard_normal((2, *layer.output_shape))
    np.testing.assert_array_equal(layer.forward(small, training=True), fresh.forward(small, training=True))
    np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))
    for key in layer.layer.grads:
        np.testing.assert_array_equal(layer.layer.grads[key], fresh.layer.grads[key])


LAYERS = {
    "conv": (lambda: Conv2D(2, 3, padding="same"), (5, 5, 2)),
    "maxpool": (lambda: MaxPool2D(2), (5, 5, 2)),
    "relu": (lambda: ReLU(), (5, 5, 2)),
    "dropout": (lambda: Dropout(0.5, seed=0), (5, 5, 2)),
    "flatten": (lambda: Flatten(), (5, 5, 2)),
    "dense": (lambda: Dense(3), (7,)),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("engine", ENGINES)
def test_layers_do_not_modify_their_inputs(name, engine):
    """forward never changes x and backward never changes dy (training mode, so dropout masks)."""
    make, shape = LAYERS[name]
    layer = Alone(make(), shape, engine)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, *shape))
    dy = rng.standard_normal((3, *layer.output_shape))
    x_copy, dy_copy = x.copy(), dy.copy()
    layer.forward(x, training=True)
    layer.backward(dy)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dy, dy_copy)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("engine", ENGINES)
def test_backward_needs_its_own_forward(name, engine):
    """A second backward, or a backward after forward(keep=False), raises a RuntimeError naming the layer."""
    make, shape = LAYERS[name]
    layer = Alone(make(), shape, engine)
    x = np.random.default_rng(0).standard_normal((2, *shape))
    dy = np.ones((2, *layer.output_shape))
    layer.forward(x)
    layer.backward(dy)
    with pytest.raises(RuntimeError, match=f"{type(layer.layer).__name__}.*backward needs a forward"):
        layer.backward(dy)
    layer.forward(x, keep=False)
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        layer.backward(dy)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("engine", ENGINES)
def test_backward_rejects_a_gradient_of_another_batch_size(name, engine):
    """backward with dy for fewer images than forward saw raises ShapeError instead of a wrong dx.

    Layer.check_gradient only compares dy.shape[1:]; MaxPool2D then returns a dx whose last
    images are uninitialised memory (np.empty), ReLU broadcasts a batch of 1 silently, Dropout in
    inference returns dy as is, and Conv2D/Dense fail inside NumPy with a message that names no layer.
    """
    from tinycnn import ShapeError

    make, shape = LAYERS[name]
    layer = Alone(make(), shape, engine)
    x = np.random.default_rng(0).standard_normal((3, *shape))
    layer.forward(x)
    dy = np.ones((1, *layer.output_shape))  # fewer images than the forward: never out of bounds
    with pytest.raises(ShapeError, match=f"{type(layer.layer).__name__}.*gradient"):
        layer.backward(dy)


@pytest.mark.parametrize("engine", ENGINES)
def test_gradients_overwrite_not_accumulate(engine):
    """Two identical forward/backward passes leave identical grads (grads are overwritten)."""
    model = small_network(engine=engine)
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


@pytest.mark.parametrize("engine", ENGINES)
def test_input_gradient_false_skips_dx_only(engine):
    """backward(input_gradient=False) returns None but fills the same parameter grads."""
    model = small_network(engine=engine)
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


@pytest.mark.parametrize("engine", ENGINES)
def test_backward_after_inference_forward_treats_dropout_as_identity(engine):
    """backward after forward(training=False) works and equals the same network without dropout."""
    with_dropout, without = (
        small_network(dropout=True, engine=engine),
        small_network(dropout=False, engine=engine),
    )
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


@pytest.mark.parametrize("engine", ENGINES)
def test_predict_equals_inference_forward_and_keeps_nothing(engine):
    """predict (in batches of 3 over 7 images) equals forward(training=False); backward after it raises."""
    model = small_network(engine=engine)
    x = np.random.default_rng(0).standard_normal((7, 8, 9, 2))
    expected = model.forward(x, training=False)
    predicted = model.predict(x, batch_size=3)
    assert predicted.shape == (7, 5)
    assert_close(predicted, expected, 1e-12)
    with pytest.raises(RuntimeError, match="Dense 'dense'.*backward needs a forward"):
        model.backward(np.ones((7, 5)))
    model.forward(x, training=True)
    model.predict(x, batch_size=3)  # replaces what the forward kept
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        model.backward(np.ones((7, 5)))


@pytest.mark.parametrize("engine", ENGINES)
def test_predict_is_deterministic_and_ignores_dropout(engine):
    """predict twice gives the same outputs (dropout is off), and does not disturb dropout generators."""
    model = small_network(engine=engine)
    state = model.rng_state()
    x = np.random.default_rng(0).standard_normal((4, 8, 9, 2))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert model.rng_state() == state


@pytest.mark.parametrize("engine", ENGINES)
def test_dropout_training_changes_outputs_and_inference_does_not(engine):
    """forward(training=True) applies a fresh mask each call; forward(training=False) is repeatable."""
    model = small_network(engine=engine)
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
