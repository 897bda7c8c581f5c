"""The engines: the fast engine's plan (fused steps, chunks on workers, Winograd) computes what the
plain engine's layers compute one by one; the plan is visible; switching engines is safe."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, settings
from tinycnn.engine import im2col as im2col_passes
from tinycnn.engine import winograd as winograd_passes

from .helpers import assert_close


def reference_network(seed=0, dtype=np.float32, engine="fast"):
    layers = [
        Conv2D(32, 3), ReLU(), Conv2D(64, 3), ReLU(), MaxPool2D(2), Dropout(0.25),
        Flatten(), Dense(256), ReLU(), Dropout(0.5), Dense(10),
    ]  # fmt: skip
    return Sequential(layers, input_shape=(28, 28, 1), dtype=dtype, seed=seed, engine=engine)


def network(geometry, seed):
    (height, width, channels), filters, kernel, strides, padding, pool, pool_strides = geometry
    layers = [
        Conv2D(filters, kernel, strides=strides, padding=padding),
        ReLU(),
        MaxPool2D(pool, strides=pool_strides),
        Conv2D(3, 1),
        ReLU(),
        Conv2D(2, 1),
        Flatten(),
        Dense(4),
    ]
    return Sequential(layers, input_shape=(height, width, channels), dtype=np.float64, seed=seed)


@st.composite
def geometries(draw):
    height, width, channels = draw(st.integers(3, 9)), draw(st.integers(3, 9)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["valid", "same"]))
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pool_strides = draw(st.sampled_from([None, (1, 1), (2, 1)]))
    out_h, out_w = Conv2D(1, kernel, strides, padding).compute_output_shape((height, width, channels))[:2]
    assume(out_h >= pool[0] and out_w >= pool[1])
    return (height, width, channels), draw(st.integers(1, 4)), kernel, strides, padding, pool, pool_strides


def run(model, engine, x, dy_seed):
    """Logits, dx, grads and predictions of one training pass of `model` under `engine`."""
    model.engine = engine
    for layer in model.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(9)  # the same masks under both engines
    logits = model.forward(x, training=True)
    dy = np.random.default_rng(dy_seed).standard_normal(logits.shape).astype(logits.dtype)
    dx = model.backward(dy)
    grads = {
        f"{layer.name}/{key}": value.copy() for layer in model.layers for key, value in layer.grads.items()
    }
    return logits, dx, grads, model.predict(x, batch_size=2)


def assert_same_results(got, expected, tolerance):
    for name, actual, wanted in zip(("logits", "dx", "grads", "predictions"), got, expected, strict=True):
        if name == "grads":
            for key, value in wanted.items():
                assert_close(actual[key], value, tolerance)
        else:
            assert_close(actual, wanted, tolerance)


@given(geometry=geometries(), seed=st.integers(0, 2**16), batch=st.integers(1, 5), fuse=st.booleans())
def test_the_fast_engine_equals_the_layers_as_written(geometry, seed, batch, fuse):
    """Fused (Conv2D -> ReLU -> MaxPool2D, Conv2D -> ReLU, Conv2D alone) or not, the fast engine
    gives what the plain engine's layers give, in float64."""
    model = network(geometry, seed)
    x = np.random.default_rng(seed).standard_normal((batch, *model.input_shape))
    x[0, 0, 0, 0] = 0.0  # a tie with ReLU's zeros, and zeros in pooling windows
    plain = run(model, "plain", x, seed)
    with settings.use(fuse=fuse):
        fast = run(model, "fast", x, seed)
        kinds = [row.fused for row in model.plan(batch)]
    assert kinds[:2] == ([True, True] if fuse else [False, False])
    assert_same_results(fast, plain, 1e-12)


@given(
    height=st.integers(3, 14),
    width=st.integers(3, 14),
    padding=st.sampled_from(["valid", "same"]),
    batch=st.integers(1, 4),
    chunk_bytes=st.sampled_from([1, winograd_passes.CHUNK_BYTES]),
    workers=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**16),
)
def test_winograd_step_with_a_2x2_pool_equals_the_layers_as_written(
    height, width, padding, batch, chunk_bytes, workers, seed
):
    """By Winograd with a 2x2/2 pool, the step's single output-transform-ReLU-pool kernel and its
    pooled gradient transform give what the layers give one by one (odd sizes, where the pool
    drops a row or column, included), in float64; ties come from the ReLU's zeros. The step runs
    its chunks on 1-3 workers (one image per chunk with chunk_bytes=1)."""
    if padding == "valid":
        assume(height >= 4 and width >= 4)
    layers = [Conv2D(3, 3, padding=padding, algorithm="winograd"), ReLU(), MaxPool2D(2), Flatten(), Dense(4)]
    model = Sequential(layers, input_shape=(height, width, 2), dtype=np.float64, seed=seed)
    x = np.random.default_rng(seed).standard_normal((batch, height, width, 2))
    plain = run(model, "plain", x, seed)
    with mock.patch.object(winograd_passes, "CHUNK_BYTES", chunk_bytes), settings.use(workers=workers):
        fast = run(model, "fast", x, seed)
        assert "Winograd F(4x4, 3x3)" in model.plan(batch)[0].how
    assert_same_results(fast, plain, 1e-12)


@given(
    batch=st.integers(1, 6),
    chunk_bytes=st.sampled_from([1, im2col_passes.CHUNK_BYTES]),
    keep_bytes=st.sampled_from([0, im2col_passes.KEEP_COLS_BYTES]),
    workers=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**16),
)
def test_im2col_step_on_chunks_and_workers_equals_the_layers_as_written(
    batch, chunk_bytes, keep_bytes, workers, seed
):
    """By im2col, in chunks of one image or as configured, patches kept from forward to backward
    or unfolded again, on 1-3 workers: the layers' results, in float64."""
    layers = [
        Conv2D(3, (2, 3), strides=(1, 2), padding="same"), ReLU(), MaxPool2D(2), Conv2D(2, (3, 2)), Flatten(), Dense(3),
    ]  # fmt: skip
    model = Sequential(layers, input_shape=(9, 10, 2), dtype=np.float64, seed=seed)
    x = np.random.default_rng(seed).standard_normal((batch, 9, 10, 2))
    plain = run(model, "plain", x, seed)
    with (
        mock.patch.object(im2col_passes, "CHUNK_BYTES", chunk_bytes),
        mock.patch.object(im2col_passes, "KEEP_COLS_BYTES", keep_bytes),
        settings.use(workers=workers, conv_algorithm="im2col"),
    ):
        fast = run(model, "fast", x, seed)
    assert_same_results(fast, plain, 1e-12)


def test_the_reference_network_in_float32_fast_equals_plain():
    """A full batch of the reference network in float32: with every convolution by im2col the fast
    engine's chunks and fused steps change only the order of sums; by Winograd (its default for the
    second convolution) float32 rounding differs by about 1e-6 of the outputs."""
    x = np.random.default_rng(4).random((128, 28, 28, 1), dtype=np.float32)
    plain = run(reference_network(seed=3), "plain", x, 5)
    with settings.use(conv_algorithm="im2col"):
        fast_im2col = run(reference_network(seed=3), "fast", x, 5)
    assert_same_results(fast_im2col, plain, 1e-5)
    model = reference_network(seed=3)
    assert "Winograd" in model.plan(128)[1].how
    logits, _, _, predicted = run(model, "fast", x, 5)
    np.testing.assert_allclose(logits, plain[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(predicted, plain[3], rtol=1e-4, atol=1e-5)


def test_the_reference_network_plan_names_every_fused_step_and_algorithm():
    model = reference_network()
    with settings.use(workers=2):
        plan = model.plan(batch_size=128)
        text = str(plan)
    assert [row.layer_names for row in plan] == [
        "conv2d -> re_lu",
        "conv2d_1 -> re_lu_1 -> max_pooling2d",
        "dropout",
        "flatten",
        "dense",
        "re_lu_2",
        "dropout_1",
        "dense_1",
    ]
    first, second = plan[0].how, plan[1].how
    assert "fused" in first and "im2col+GEMM" in first and "4 chunks of 32 images on 2 workers" in first
    assert (
        "fused" in second
        and "Winograd F(4x4, 3x3)" in second
        and "16 chunks of 8 images on 2 workers" in second
    )
    assert "2x2 max-pool" in second
    assert [row.fused for row in plan] == [True, True] + [False] * 6
    for row in plan:
        assert row.layer_names in text and row.how in text
    assert 'engine "fast"' in text and "2 chunk workers" in text
    assert "Winograd" not in str(model.plan(batch_size=1))  # single images: im2col
    assert str(model.plan()) == str(model.plan(128))


def test_the_plain_plan_has_one_row_per_layer_as_written():
    model = reference_network(engine="plain")
    plan = model.plan(64)
    assert [row.layers for row in plan] == [(layer,) for layer in model.layers]
    assert all(row.how == "as written" and not row.fused for row in plan)
    assert 'engine "plain"' in str(plan) and "fused" not in str(plan)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "128"])
def test_a_bad_plan_batch_size_is_a_clear_error(batch_size):
    with pytest.raises(ValueError, match="plan: batch_size must be a positive int"):
        reference_network().plan(batch_size)


def test_switching_engines_gives_the_same_predictions(tmp_path):
    model = reference_network(seed=1)
    x = np.random.default_rng(2).random((20, 28, 28, 1), dtype=np.float32)
    fast = model.predict(x)
    assert model.engine == "fast"
    model.engine = "plain"
    assert model.engine == "plain"
    np.testing.assert_allclose(model.predict(x), fast, rtol=1e-4, atol=1e-5)
    model.save(tmp_path / "weights.npz")
    loaded = Sequential.load(tmp_path / "weights.npz", engine="plain")
    assert loaded.engine == "plain"
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert Sequential.load(tmp_path / "weights.npz").engine == "fast"
    assert 'Engine: "plain"' in loaded.summary_text()


@pytest.mark.parametrize("name", ["Fast", "numba", "", None, 3])
def test_an_unknown_engine_is_a_value_error_naming_the_choices(name, tmp_path):
    model = reference_network()
    with pytest.raises(ValueError, match=r"engine must be one of \('fast', 'plain'\)"):
        model.engine = name
    assert model.engine == "fast"
    with pytest.raises(ValueError, match=r"engine must be one of \('fast', 'plain'\)"):
        Sequential([Dense(2)], input_shape=(3,), engine=name)
    model.save(tmp_path / "weights.npz")
    with pytest.raises(ValueError, match=r"engine must be one of \('fast', 'plain'\)"):
        Sequential.load(tmp_path / "weights.npz", engine=name)


@pytest.mark.parametrize("engine", ["fast", "plain"])
def test_each_forward_serves_one_backward_and_a_predict_in_between_discards_it(engine):
    model = Sequential(
        [Conv2D(2, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3)],
        input_shape=(6, 6, 1),
        seed=0,
        engine=engine,
    )
    x = np.ones((2, 6, 6, 1), np.float32)
    logits = model.forward(x, training=True)
    model.backward(np.ones_like(logits))
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        model.backward(np.ones_like(logits))
    model.forward(x, training=True)
    model.predict(x)  # keeps nothing, and replaces what the forward kept
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        model.backward(np.ones_like(logits))


def test_the_fast_engine_leaves_the_layers_own_state_alone():
    """A layer of a fused step cannot run backward on its own after the model's forward: the
    engine keeps what the step needs itself, never in the layers."""
    model = Sequential([Conv2D(2, 3), ReLU(), Flatten(), Dense(3)], input_shape=(5, 5, 1), seed=0)
    logits = model.forward(np.ones((2, 5, 5, 1), np.float32))
    for layer in model.layers[:2]:
        with pytest.raises(RuntimeError, match="backward needs a forward"):
            layer.backward(np.ones((2, 3, 3, 2), np.float32))
    step = model.plan(2)[0].step
    with pytest.raises(ValueError, match=r"backward expected a gradient of shape \(2, 3, 3, 2\)"):
        step.backward(np.ones((3, 3, 3, 2), np.float32))
    model.forward(np.ones((2, 5, 5, 1), np.float32))
    model.backward(np.ones_like(logits))  # the model itself is fine
