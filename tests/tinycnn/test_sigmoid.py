"""The Sigmoid layer: the logistic function without overflow, its backward against finite
differences, in a model through both engines, saved and loaded by name."""

import numpy as np
import pytest

from tinycnn import Dense, Sequential, Sigmoid
from tinycnn.gradient_check import numerical_gradient, relative_error


def test_forward_is_the_logistic_function_without_overflow():
    x = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    with np.errstate(over="raise", under="ignore"):
        extremes = Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(extremes, [0.0, 0.5, 1.0])
    assert Sigmoid().forward(np.zeros((2, 3), np.float32)).dtype == np.float32


def test_backward_matches_finite_differences_in_float64():
    rng = np.random.default_rng(0)
    x, dy = rng.normal(scale=3, size=(3, 5)), rng.normal(size=(3, 5))
    layer = Sigmoid()
    layer.build(x.shape[1:], dtype=np.float64)
    layer.forward(x)
    analytic = layer.backward(dy)
    probe = x.copy()
    numeric = numerical_gradient(lambda: np.sum(dy * Sigmoid().forward(probe)), probe)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("engine", ["fast", "plain"])
def test_a_model_with_sigmoid_trains_in_both_engines_and_loads_back(tmp_path, engine):
    model = Sequential([Dense(4), Sigmoid(), Dense(2)], input_shape=(3,), dtype=np.float64, seed=1)
    model.engine = engine
    x = np.random.default_rng(2).normal(size=(5, 3))
    y = model.forward(x, training=True)
    dx = model.backward(np.ones_like(y))
    assert dx.shape == x.shape and np.all(np.isfinite(dx))
    path = tmp_path / "sigmoid.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense", "Sigmoid", "Dense"]
    np.testing.assert_allclose(loaded.predict(x.astype(loaded.dtype)), model.predict(x), rtol=1e-6)
