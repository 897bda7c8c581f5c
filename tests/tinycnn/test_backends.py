"""Backend selection and isolation: the NumPy backend in a subprocess agrees with Numba here,
`import tinycnn` stays free of Numba, and concurrent predictions on two models are safe."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import tinycnn
from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy

ROOT = Path(__file__).resolve().parents[2]
JIT_ENABLED = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0")

# Run in a child process: load the model and the batch, report backend, outputs and gradients.
CHILD = """
import sys
import numpy as np
import tinycnn
from tinycnn import Sequential, SoftmaxCrossEntropy

folder = sys.argv[1]
model = Sequential.load(folder + "/model.npz")
with np.load(folder + "/batch.npz") as batch:
    x, labels = batch["x"], batch["labels"]
loss = SoftmaxCrossEntropy()
logits = model.forward(x, training=False)
value = loss.forward(logits, labels)
dx = model.backward(loss.backward())
grads = {f"grad/{layer.name}/{key}": g for layer in model.layers for key, g in layer.grads.items()}
np.savez(folder + "/out.npz", backend=np.array(tinycnn.backend()), numba_imported=np.array("numba" in sys.modules),
         logits=logits, loss=np.array(value), dx=dx, predicted=model.predict(x, batch_size=2), **grads)
"""


def run_child(folder, **environment):
    env = {
        key: value for key, value in os.environ.items() if key not in ("TINYCNN_BACKEND", "NUMBA_DISABLE_JIT")
    }
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(folder / "out.npz") as out:
        return {name: out[name] for name in out.files}


def small_network():
    return Sequential(
        [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(5, (2, 3), strides=(2, 1)), ReLU(),
         MaxPool2D((2, 1), strides=1), Dropout(0.5), Flatten(), Dense(6)],
        input_shape=(10, 9, 3), dtype=np.float64, seed=4,
    )  # fmt: skip


@pytest.mark.parametrize("environment", [{"TINYCNN_BACKEND": "numpy"}, {"NUMBA_DISABLE_JIT": "1"}])
def test_numpy_backend_in_subprocess_matches_numba_here(tmp_path, environment):
    """A child with TINYCNN_BACKEND=numpy or NUMBA_DISABLE_JIT=1 runs NumPy kernels (without importing
    Numba) and its logits, loss, dx and grads equal the Numba backend's in this process."""
    if tinycnn.backend() != "numba":
        pytest.skip("this process must run the Numba backend to compare against it")
    model = small_network()
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][...] = np.random.default_rng(9).standard_normal(layer.params["bias"].shape)
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((5, 10, 9, 3)), rng.integers(0, 6, 5)
    model.save(tmp_path / "model.npz")
    np.savez(tmp_path / "batch.npz", x=x, labels=labels)

    loss = SoftmaxCrossEntropy()
    logits = model.forward(x, training=False)
    value = loss.forward(logits, labels)
    dx = model.backward(loss.backward())

    child = run_child(tmp_path, **environment)
    assert str(child["backend"]) == "numpy"
    assert not child["numba_imported"]
    np.testing.assert_allclose(child["logits"], logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(child["predicted"], logits, rtol=1e-12, atol=1e-12)
    assert float(child["loss"]) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(child["dx"], dx, rtol=1e-12, atol=1e-14)
    for layer in model.layers:
        for key, gradient in layer.grads.items():
            np.testing.assert_allclose(child[f"grad/{layer.name}/{key}"], gradient, rtol=1e-12, atol=1e-14)


def run_with_the_default_backend(code):
    """stdout of `python -c code` in a child that chooses its kernel backend as a user's would."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("TINYCNN_BACKEND", "NUMBA_DISABLE_JIT")
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_import_does_not_import_numba():
    """`import tinycnn` (and building a model) leaves Numba unimported; it loads on first kernel use."""
    code = (
        "import sys, numpy as np, tinycnn\n"
        "assert 'numba' not in sys.modules, 'import tinycnn imported numba'\n"
        "tinycnn.Sequential([tinycnn.Conv2D(2, 3), tinycnn.Flatten(), tinycnn.Dense(2)], input_shape=(5, 5, 1))\n"
        "assert 'numba' not in sys.modules, 'building a model imported numba'\n"
        "print('ok')\n"
    )
    assert run_with_the_default_backend(code).strip() == "ok"


@pytest.mark.skipif(not JIT_ENABLED, reason="compiles Numba kernels")
def test_warmup_for_single_images_leaves_the_winograd_kernels_uncompiled():
    """warmup(batch_size=1), what the drawing app runs, compiles (or loads) both variants of every
    kernel single images use and none of the Winograd ones, which a first start would wait half a
    minute for; warmup(batch_size=8) compiles those too."""
    code = (
        "import tinycnn\n"
        "from tinycnn.kernels import KERNELS\n"
        "from tinycnn.engine import winograd\n"
        "def ready():\n"
        "    return {k.name for k in KERNELS if k._threaded is not None and k._serial is not None}\n"
        "tinycnn.warmup(batch_size=1)\n"
        "print(ready() == {k.name for k in KERNELS if k not in winograd.KERNELS}, any(k in winograd.KERNELS for k in KERNELS if k.name in ready()))\n"
        "tinycnn.warmup(batch_size=8)\n"
        "print(ready() == {k.name for k in KERNELS})\n"
    )
    assert run_with_the_default_backend(code).split() == ["True", "False", "True"]


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "1"])
def test_warmup_of_a_bad_batch_size_is_a_clear_error(batch_size):
    with pytest.raises(ValueError, match="warmup: batch_size must be a positive int or None"):
        tinycnn.warmup(batch_size=batch_size)


def test_unknown_backend_name_is_a_clear_error():
    """TINYCNN_BACKEND=cuda fails at import with a ValueError listing the choices."""
    code = "try:\n    import tinycnn\nexcept ValueError as error:\n    print(error)\n"
    env = {**os.environ, "TINYCNN_BACKEND": "cuda"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TINYCNN_BACKEND must be one of ('auto', 'numba', 'numpy'), got 'cuda'" in result.stdout


def test_concurrent_predict_on_two_models_matches_sequential():
    """Two threads predicting at the same time on two models get exactly their sequential results."""
    models = [
        Sequential(
            [Conv2D(8, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(8, 3), ReLU(), Flatten(), Dense(10)],
            input_shape=(16, 16, 1),
            seed=seed,
        )
        for seed in (1, 2)
    ]
    rng = np.random.default_rng(0)
    inputs = [rng.random((24, 16, 16, 1), dtype=np.float32) for _ in models]
    expected = [model.predict(x, batch_size=8) for model, x in zip(models, inputs, strict=True)]
    start = threading.Barrier(2)
    results, errors = [[], []], []

    def work(index):
        try:
            start.wait()
            for _ in range(15):
                results[index].append(models[index].predict(inputs[index], batch_size=8))
        except BaseException as error:  # reported below; a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for index in range(2):
        assert len(results[index]) == 15
        for result in results[index]:
            np.testing.assert_array_equal(result, expected[index])


def test_how_a_batch_is_split_never_depends_on_the_process_blas_thread_count(monkeypatch):
    """The cause of a flaky concurrent-predict test: the worker count was read back from the BLAS
    thread count, which another thread's worker region had set to 1 for the whole process, so the
    batch was split into other chunks (and this OpenBLAS rounds products differently with their
    number of rows). The count is a setting now: a process-wide BLAS limit changes nothing."""
    from threadpoolctl import threadpool_limits

    from tinycnn import settings
    from tinycnn.engine import workers

    model = Sequential([Conv2D(32, 3), ReLU(), Conv2D(64, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(10)],
                       input_shape=(28, 28, 1), seed=1)  # fmt: skip
    x = np.random.default_rng(0).random((128, 28, 28, 1), dtype=np.float32)
    used = []
    run = workers.run
    monkeypatch.setattr(
        workers,
        "run",
        lambda chunks, body, count: used.append((len(chunks), count)) or run(chunks, body, count),
    )
    with settings.use(workers=2):
        expected, plan = model.predict(x, batch_size=128), str(model.plan(128))
        alone = list(used)
        used.clear()
        with threadpool_limits(limits=1, user_api="blas"):
            got, limited_plan = model.predict(x, batch_size=128), str(model.plan(128))
    assert used == alone and all(count == 2 for _, count in used)
    assert limited_plan == plan
    np.testing.assert_array_equal(got, expected)
