"""Fused Conv2D -> ReLU (-> MaxPool2D) blocks compute exactly what the layers do one by one."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential, fusion
from tinycnn.layers import conv_winograd

from .helpers import assert_close


def network(geometry, seed):
    (height, width, channels), filters, kernel, strides, padding, pool, pool_strides = geometry
    layers = [
        Conv2D(filters, kernel, strides=strides, padding=padding),
        ReLU(),
        MaxPool2D(pool, strides=pool_strides),
        Conv2D(3, 1),
        ReLU(),
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


def run(model, x, dy_seed, monkeypatch, fused):
    monkeypatch.setenv("TINYCNN_FUSE", "1" if fused else "0")
    logits = model.forward(x, training=True)
    dy = np.random.default_rng(dy_seed).standard_normal(logits.shape)
    dx = model.backward(dy)
    grads = {
        f"{layer.name}/{key}": value.copy() for layer in model.layers for key, value in layer.grads.items()
    }
    return logits, dx, grads, model.predict(x, batch_size=2)


@given(geometry=geometries(), seed=st.integers(0, 2**16), batch=st.integers(1, 5))
def test_fused_blocks_equal_the_layers_one_by_one(geometry, seed, batch):
    with pytest.MonkeyPatch.context() as monkeypatch:
        model = network(geometry, seed)
        x = np.random.default_rng(seed).standard_normal((batch, *model.input_shape))
        x[0, 0, 0, 0] = 0.0  # a tie with ReLU's zeros, and zeros in pooling windows
        unfused = run(model, x, seed, monkeypatch, fused=False)
        fused = run(model, x, seed, monkeypatch, fused=True)
    assert [type(step).__name__ for step in fusion.plan(model.layers)][:2] == ["ConvReLUPool", "ConvReLU"]
    for expected, got in zip(unfused[:2] + (unfused[3],), fused[:2] + (fused[3],), strict=True):
        assert_close(got, expected, 1e-12)
    for key, value in unfused[2].items():
        assert_close(fused[2][key], value, 1e-12)


def test_the_reference_network_fused_in_float32_and_chunked(monkeypatch):
    """The reference network on a full batch: the second convolution runs in several chunks."""
    layers = [Conv2D(32, 3), ReLU(), Conv2D(64, 3), ReLU(), MaxPool2D(2), Dropout(0.25), Flatten(), Dense(10)]
    model = Sequential(layers, input_shape=(28, 28, 1), seed=3)
    assert model.layers[2].chunk_images(128) < 128
    x = np.random.default_rng(4).random((128, 28, 28, 1), dtype=np.float32)
    results = {}
    for fused in (False, True):
        layers[5].rng = np.random.default_rng(9)  # the same dropout mask both times
        results[fused] = run(model, x, 5, monkeypatch, fused)
    (logits, dx, grads, predicted), (logits_f, dx_f, grads_f, predicted_f) = results[False], results[True]
    np.testing.assert_allclose(logits_f, logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx_f, dx, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(predicted_f, predicted, rtol=1e-5, atol=1e-5)
    for key in grads:
        np.testing.assert_allclose(grads_f[key], grads[key], rtol=1e-4, atol=1e-5 * np.abs(grads[key]).max())


@given(
    height=st.integers(3, 14),
    width=st.integers(3, 14),
    padding=st.sampled_from(["valid", "same"]),
    batch=st.integers(1, 4),
    chunk_bytes=st.sampled_from([1, conv_winograd.CHUNK_BYTES]),
    workers=st.sampled_from(["1", "2", "3"]),
    seed=st.integers(0, 2**16),
)
def test_winograd_block_with_a_2x2_pool_equals_the_layers_one_by_one(
    height, width, padding, batch, chunk_bytes, workers, seed
):
    """By Winograd with a 2x2/2 pool, the block's single output-transform-ReLU-pool kernel and
    its pooled gradient transform give what the layers give one by one (odd sizes, where the pool
    drops a row or column, included), in float64; ties come from the ReLU's zeros. The block runs
    its chunks on 1-3 workers (one image per chunk with chunk_bytes=1); the layers, one by one,
    run theirs in order."""
    if padding == "valid":
        assume(height >= 4 and width >= 4)
    layers = [Conv2D(3, 3, padding=padding, algorithm="winograd"), ReLU(), MaxPool2D(2), Flatten(), Dense(4)]
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        mock.patch.object(conv_winograd, "CHUNK_BYTES", chunk_bytes),
    ):
        monkeypatch.setenv("TINYCNN_WORKERS", workers)
        model = Sequential(layers, input_shape=(height, width, 2), dtype=np.float64, seed=seed)
        x = np.random.default_rng(seed).standard_normal((batch, height, width, 2))
        assert [type(step).__name__ for step in fusion.plan(model.layers)][0] == "ConvReLUPool"
        unfused = run(model, x, seed, monkeypatch, fused=False)
        fused = run(model, x, seed, monkeypatch, fused=True)
    for expected, got in zip(unfused[:2] + (unfused[3],), fused[:2] + (fused[3],), strict=True):
        assert_close(got, expected, 1e-12)
    for key, value in unfused[2].items():
        assert_close(fused[2][key], value, 1e-12)


def test_a_layer_of_a_fused_block_cannot_run_backward_on_its_own(monkeypatch):
    monkeypatch.setenv("TINYCNN_FUSE", "1")
    model = Sequential([Conv2D(2, 3), ReLU(), Flatten(), Dense(3)], input_shape=(5, 5, 1), seed=0)
    logits = model.forward(np.ones((2, 5, 5, 1), np.float32))
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        model.layers[1].backward(np.ones((2, 3, 3, 2), np.float32))
    model.backward(np.ones_like(logits))  # the model itself is fine
    with pytest.raises(RuntimeError, match="backward needs a forward"):
        model.backward(np.ones_like(logits))  # each forward serves one backward
    with pytest.raises(RuntimeError, match="fused Conv2D 'conv2d' -> ReLU"):
        model.steps()[0].backward(np.ones((2, 3, 3, 2), np.float32))
