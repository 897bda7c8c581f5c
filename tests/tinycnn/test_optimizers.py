"""Optimizers: update rules against hand values and independent formulas, schedules, weight decay,
and exact (bitwise) resumption from state_dict and from files."""

import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tinycnn import (
    SGD,
    Adadelta,
    Adam,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Optimizer,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    WeightsFileError,
)

from .helpers import assert_close

ROOT = Path(__file__).resolve().parents[2]


def one_parameter(value, gradient):
    """A stand-in model: one layer 'w' with one parameter 'w' and its gradient (float64 arrays)."""
    layer = SimpleNamespace(
        name="w", params={"w": np.array(value, np.float64)}, grads={"w": np.array(gradient, np.float64)}
    )
    return SimpleNamespace(layers=[layer]), layer


def test_sgd_by_hand():
    """Plain SGD: p = 1 - 0.1 * 0.5 = 0.95, then 0.95 - 0.1 * 0.5 = 0.9."""
    model, layer = one_parameter([1.0], [0.5])
    optimizer = SGD(learning_rate=0.1)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(0.95, abs=1e-15)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(0.9, abs=1e-15)


def test_sgd_momentum_by_hand():
    """Momentum 0.9, g = 0.5 twice: b = 0.5 then 0.95; p = 0.95 then 0.855."""
    model, layer = one_parameter([1.0], [0.5])
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(0.95, abs=1e-15)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(0.855, abs=1e-15)


def test_sgd_nesterov_by_hand():
    """Nesterov 0.9, g = 0.5 twice: steps g + 0.9 b = 0.95 then 0.5 + 0.9 * 0.95 = 1.355."""
    model, layer = one_parameter([1.0], [0.5])
    optimizer = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(1.0 - 0.095, abs=1e-15)
    optimizer.step(model)
    assert layer.params["w"][0] == pytest.approx(1.0 - 0.095 - 0.1355, abs=1e-15)


def test_adam_first_step_by_hand():
    """Adam's first step: m = 0.1 g, v = 0.001 g^2, p -= lr sqrt(0.001) / 0.1 * m / (sqrt(v) + eps)."""
    g = [0.5, -2.0, 1e-9]
    model, layer = one_parameter([1.0, 1.0, 1.0], g)
    Adam(learning_rate=0.01, epsilon=1e-7).step(model)
    expected = [
        1.0 - 0.01 * math.sqrt(0.001) / 0.1 * (0.1 * gi) / (math.sqrt(0.001) * abs(gi) + 1e-7) for gi in g
    ]
    np.testing.assert_allclose(layer.params["w"], expected, rtol=0, atol=1e-15)
    # The step is about lr * sign(g) for gradients much larger than epsilon, and tiny for tiny ones.
    np.testing.assert_allclose(layer.params["w"][:2], [0.99, 1.01], atol=1e-6)
    assert abs(layer.params["w"][2] - 1.0) < 1e-4


def test_adadelta_first_step_by_hand():
    """Adadelta's first step: a = (1 - rho) g^2, d = g sqrt(eps) / sqrt(a + eps), p -= lr d."""
    model, layer = one_parameter([1.0], [0.5])
    Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-6).step(model)
    d = 0.5 * math.sqrt(1e-6) / math.sqrt(0.05 * 0.25 + 1e-6)
    assert layer.params["w"][0] == pytest.approx(1.0 - d, rel=1e-15)


# Independent multi-step formulas (written from the docstring in tinycnn.optimizers).
def naive_steps(kind, options, p, gradients, learning_rate, weight_decay):
    p = p.copy()
    state = [np.zeros_like(p), np.zeros_like(p)]
    for t, g in enumerate(gradients, start=1):
        lr = learning_rate(t - 1) if callable(learning_rate) else learning_rate
        g = g + weight_decay * p
        if kind == "SGD":
            momentum = options.get("momentum", 0.0)
            if momentum:
                state[0] = momentum * state[0] + g
                p = p - lr * (g + momentum * state[0] if options.get("nesterov") else state[0])
            else:
                p = p - lr * g
        elif kind == "Adam":
            b1, b2, eps = options["beta_1"], options["beta_2"], options["epsilon"]
            state[0] = b1 * state[0] + (1 - b1) * g
            state[1] = b2 * state[1] + (1 - b2) * g * g
            m_hat, v_hat = state[0] / (1 - b1**t), state[1] / (1 - b2**t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - b2**t))  # = Keras' placement
        else:
            rho, eps = options["rho"], options["epsilon"]
            state[0] = rho * state[0] + (1 - rho) * g * g
            delta = g * np.sqrt(state[1] + eps) / np.sqrt(state[0] + eps)
            state[1] = rho * state[1] + (1 - rho) * delta * delta
            p = p - lr * delta
    return p


CONFIGS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.8, "nesterov": True}),
    ("Adam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("Adam", {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Adadelta", {"rho": 0.95, "epsilon": 1e-7}),
]
CLASSES = {"SGD": SGD, "Adam": Adam, "Adadelta": Adadelta}


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("schedule", [False, True])
@pytest.mark.parametrize(("kind", "options"), CONFIGS)
def test_optimizer_matches_independent_formula(kind, options, schedule, weight_decay):
    """Five steps of every optimizer (with a schedule and weight decay) match the formulas to 1e-12."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((4, 3))
    gradients = [rng.standard_normal((4, 3)) for _ in range(5)]
    learning_rate = (lambda iteration: 0.05 / (1 + iteration)) if schedule else 0.05
    model, layer = one_parameter(p0, gradients[0])
    optimizer = CLASSES[kind](learning_rate=learning_rate, weight_decay=weight_decay, **options)
    for g in gradients:
        layer.grads["w"][...] = g
        optimizer.step(model)
    assert optimizer.iterations == 5
    assert_close(
        layer.params["w"], naive_steps(kind, options, p0, gradients, learning_rate, weight_decay), 1e-12
    )


def test_schedule_is_called_with_the_step_index():
    """A learning-rate schedule is called with 0, 1, 2, ... before each step."""
    calls = []
    model, _ = one_parameter([1.0], [1.0])
    optimizer = SGD(learning_rate=lambda iteration: calls.append(iteration) or 0.1)
    for _ in range(3):
        optimizer.step(model)
    assert calls == [0, 1, 2]
    assert optimizer.current_learning_rate() == 0.1 and calls[-1] == 3


def training_run(make_optimizer):
    """A float64 model with dropout, the loss, and six fixed batches."""
    model = Sequential(
        [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Dropout(0.3), Flatten(), Dense(4)],
        input_shape=(6, 6, 2),
        dtype=np.float64,
        seed=3,
    )
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((4, 6, 6, 2)), rng.integers(0, 4, 4)) for _ in range(6)]
    return model, make_optimizer(), batches


def train(model, optimizer, batches):
    loss = SoftmaxCrossEntropy()
    for x, labels in batches:
        loss.forward(model.forward(x, training=True), labels)
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(model)


OPTIMIZERS = {
    "sgd": lambda: SGD(learning_rate=0.05),
    "momentum": lambda: SGD(learning_rate=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(learning_rate=0.01),
    "adadelta": lambda: Adadelta(learning_rate=1.0),
}


@pytest.mark.parametrize("via_files", [False, True])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resume_is_bitwise_identical(name, via_files, tmp_path):
    """Stopping after 3 steps, saving model/optimizer/dropout state and resuming for 3 more gives
    bitwise the same parameters as 6 uninterrupted steps (state_dict in memory, or save/load files)."""
    model, optimizer, batches = training_run(OPTIMIZERS[name])
    train(model, optimizer, batches)

    first, first_optimizer, _ = training_run(OPTIMIZERS[name])
    train(first, first_optimizer, batches[:3])
    rng_state = first.rng_state()
    if via_files:
        first.save(tmp_path / "model.npz")
        first_optimizer.save(tmp_path / "optimizer.npz")
        resumed = Sequential.load(tmp_path / "model.npz")
        resumed_optimizer = Optimizer.load(tmp_path / "optimizer.npz")
        assert type(resumed_optimizer) is type(first_optimizer)
        assert resumed_optimizer.get_config() == first_optimizer.get_config()
    else:
        resumed, resumed_optimizer, _ = training_run(OPTIMIZERS[name])
        resumed.set_weights(first.get_weights())
        resumed_optimizer.load_state_dict(first_optimizer.state_dict())
    resumed.set_rng_state(rng_state)
    assert resumed_optimizer.iterations == 3
    train(resumed, resumed_optimizer, batches[3:])

    for key, value in model.get_weights().items():
        assert resumed.get_weights()[key].tobytes() == value.tobytes(), key


def test_state_dict_is_a_snapshot():
    """A state_dict taken after 3 steps still describes step 3 after more steps (get_weights copies too)."""
    model, optimizer, batches = training_run(lambda: SGD(learning_rate=0.05, momentum=0.9))
    train(model, optimizer, batches[:3])
    state = optimizer.state_dict()
    saved = {key: np.array(value, copy=True) for key, value in state.items()}
    train(model, optimizer, batches[3:])
    for key, value in saved.items():
        np.testing.assert_array_equal(state[key], value, err_msg=key)


def test_optimizer_state_file_errors(tmp_path):
    """Optimizer.load rejects another optimizer's state, a schedule without learning_rate, and damaged files."""
    model, optimizer, batches = training_run(lambda: SGD(learning_rate=0.05, momentum=0.9))
    train(model, optimizer, batches[:1])
    path = tmp_path / "sgd.npz"
    optimizer.save(path)
    with pytest.raises(WeightsFileError, match="holds SGD state, not Adam"):
        Adam.load(path)
    with pytest.raises(WeightsFileError, match="optimizer state was saved by SGD, cannot load into Adam"):
        Adam().load_state_dict(optimizer.state_dict())
    scheduled = SGD(learning_rate=lambda iteration: 0.1)
    scheduled.save(tmp_path / "scheduled.npz")
    with pytest.raises(WeightsFileError, match="saved with a schedule; pass learning_rate= to load it"):
        Optimizer.load(tmp_path / "scheduled.npz")
    assert Optimizer.load(tmp_path / "scheduled.npz", learning_rate=lambda iteration: 0.2).iterations == 0
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(WeightsFileError, match="not a readable .npz file"):
        Optimizer.load(path)
    model.save(tmp_path / "model.npz")
    with pytest.raises(WeightsFileError, match="not an optimizer state file"):
        Optimizer.load(tmp_path / "model.npz")


def test_float32_model_keeps_float32_params_and_state():
    """Adam on a float32 model keeps params and both moment slots float32."""
    model = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=0)
    loss = SoftmaxCrossEntropy()
    optimizer = Adam()
    x = np.random.default_rng(0).random((4, 2, 2, 1), dtype=np.float32)
    loss.forward(model.forward(x), np.array([0, 1, 2, 0]))
    model.backward(loss.backward())
    optimizer.step(model)
    assert all(p.dtype == np.float32 for p in model.layers[1].params.values())
    assert all(s.dtype == np.float32 for slots in optimizer.slots.values() for s in slots.values())


def test_mismatched_optimizer_state_is_a_clear_error(tmp_path):
    """Adam state saved for Dense(2) and loaded for a Dense(10) model fails with an error naming the
    parameter, instead of corrupting memory (run in a subprocess, since today it aborts)."""
    script = tmp_path / "mismatch.py"
    script.write_text(
        "import numpy as np\n"
        "from tinycnn import Adam, Dense, Flatten, Sequential, SoftmaxCrossEntropy\n"
        "def model(units):\n"
        "    return Sequential([Flatten(), Dense(units)], input_shape=(4, 4, 1), seed=0)\n"
        "def gradients(net):\n"
        "    loss = SoftmaxCrossEntropy()\n"
        "    loss.forward(net.forward(np.ones((2, 4, 4, 1), np.float32)), np.array([0, 1]))\n"
        "    net.backward(loss.backward())\n"
        "small, big = model(2), model(10)\n"
        "optimizer = Adam()\n"
        "gradients(small)\n"
        "optimizer.step(small)\n"
        "resumed = Adam()\n"
        "try:\n"
        "    resumed.load_state_dict(optimizer.state_dict())\n"
        "    gradients(big)\n"
        "    resumed.step(big)\n"
        "    print('no error')\n"
        "except ValueError as error:\n"
        "    print('error:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, f"exit code {result.returncode}: {result.stderr[-500:]}"
    assert "error:" in result.stdout and "dense/kernel" in result.stdout, result.stdout
