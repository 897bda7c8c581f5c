"""The layers, as written and as the fast engine runs them (through the process's kernel
backend), against the naive twins, in float64.

Shapes are drawn by Hypothesis: batch, height, width, channels, filters, kernel and pool sizes,
strides, padding; combinations a layer cannot take are skipped with `assume`.
"""

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinycnn import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    settings,
)
from tinycnn import reference as ref
from tinycnn.engine import im2col as im2col_passes
from tinycnn.engine import winograd as winograd_passes

from .helpers import assert_close, built

TOLERANCE = 1e-9
ENGINES = ["plain", "fast"]


def one_layer(layer, input_shape, engine, seed):
    """`layer` alone in a float64 model run by `engine`, its bias (if any) made non-zero."""
    model = Sequential([layer], input_shape=input_shape, dtype=np.float64, seed=seed, engine=engine)
    if "bias" in layer.params:
        layer.params["bias"][...] = np.random.default_rng(seed).standard_normal(layer.params["bias"].shape)
    return model


@given(
    batch=st.integers(1, 5),
    height=st.integers(1, 8),
    width=st.integers(1, 8),
    channels=st.integers(1, 3),
    filters=st.integers(1, 3),
    kernel_h=st.integers(1, 4),
    kernel_w=st.integers(1, 4),
    stride_h=st.integers(1, 3),
    stride_w=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    chunking=st.sampled_from(["one image per chunk", "as configured"]),
    keep_cols=st.booleans(),
    workers=st.sampled_from([1, 2, 3]),
    engine=st.sampled_from(ENGINES),
    seed=st.integers(0, 2**32 - 1),
)
def test_conv2d_matches_naive(
    batch,
    height,
    width,
    channels,
    filters,
    kernel_h,
    kernel_w,
    stride_h,
    stride_w,
    padding,
    chunking,
    keep_cols,
    workers,
    engine,
    seed,
):
    """Conv2D by im2col, forward and backward (dx, dkernel, dbias), equals the naive loops to
    1e-9: as written, and by the fast engine in chunks of one image or as configured, on 1-3
    chunk workers, with forward's patches kept for backward or unfolded again."""
    if padding == "valid":
        assume(height >= kernel_h and width >= kernel_w)
    strides = (stride_h, stride_w)
    layer = Conv2D(filters, (kernel_h, kernel_w), strides=strides, padding=padding, algorithm="im2col")
    model = one_layer(layer, (height, width, channels), engine, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, channels))
    kernel, bias = layer.params["kernel"], layer.params["bias"]
    chunk_bytes = 1 if chunking == "one image per chunk" else im2col_passes.CHUNK_BYTES
    with (
        mock.patch.object(im2col_passes, "CHUNK_BYTES", chunk_bytes),
        mock.patch.object(
            im2col_passes, "KEEP_COLS_BYTES", im2col_passes.KEEP_COLS_BYTES if keep_cols else 0
        ),
        settings.use(workers=workers),
    ):
        y = model.forward(x, training=True)
        dy = rng.standard_normal(y.shape)
        dx = model.backward(dy)
    assert_close(y, ref.conv2d_forward(x, kernel, bias, strides, padding), TOLERANCE)
    expected_dx, expected_dkernel, expected_dbias = ref.conv2d_backward(x, kernel, dy, strides, padding)
    assert_close(dx, expected_dx, TOLERANCE)
    assert_close(layer.grads["kernel"], expected_dkernel, TOLERANCE)
    assert_close(layer.grads["bias"], expected_dbias, TOLERANCE)


@given(
    batch=st.integers(1, 3),
    height=st.integers(1, 13),
    width=st.integers(1, 13),
    channels=st.integers(1, 4),
    filters=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
    chunk_bytes=st.sampled_from([1, winograd_passes.CHUNK_BYTES]),
    workers=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_conv2d_winograd_matches_naive(
    batch, height, width, channels, filters, padding, chunk_bytes, workers, seed
):
    """A 3x3 Conv2D by Winograd's F(4x4, 3x3) in the fast engine: forward and backward equal the
    naive loops to 1e-9, for outputs that fill their last 4x4 tiles or not, padded or not, in one
    chunk or one image per chunk, on 1-3 chunk workers."""
    if padding == "valid":
        assume(height >= 3 and width >= 3)
    layer = Conv2D(filters, 3, padding=padding, algorithm="winograd")
    model = one_layer(layer, (height, width, channels), "fast", seed)
    assert "Winograd" in model.plan(batch)[0].how
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, channels))
    kernel, bias = layer.params["kernel"], layer.params["bias"]
    with mock.patch.object(winograd_passes, "CHUNK_BYTES", chunk_bytes), settings.use(workers=workers):
        y = model.forward(x, training=True)
        dy = rng.standard_normal(y.shape)
        dx = model.backward(dy)
    assert_close(y, ref.conv2d_forward(x, kernel, bias, (1, 1), padding), TOLERANCE)
    expected_dx, expected_dkernel, expected_dbias = ref.conv2d_backward(x, kernel, dy, (1, 1), padding)
    assert_close(dx, expected_dx, TOLERANCE)
    assert_close(layer.grads["kernel"], expected_dkernel, TOLERANCE)
    assert_close(layer.grads["bias"], expected_dbias, TOLERANCE)


@given(
    batch=st.integers(1, 3),
    height=st.integers(1, 8),
    width=st.integers(1, 8),
    channels=st.integers(1, 3),
    pool_h=st.integers(1, 3),
    pool_w=st.integers(1, 3),
    stride_h=st.integers(1, 3) | st.none(),
    stride_w=st.integers(1, 3),
    engine=st.sampled_from(ENGINES),
    seed=st.integers(0, 2**32 - 1),
)
def test_maxpool2d_matches_naive(
    batch, height, width, channels, pool_h, pool_w, stride_h, stride_w, engine, seed
):
    """MaxPool2D forward/backward equal the naive loops, incl. non-square pools and overlapping
    strides, as written and in the fast engine."""
    assume(height >= pool_h and width >= pool_w)
    strides = None if stride_h is None else (stride_h, stride_w)  # None: strides = pool size
    model = one_layer(MaxPool2D((pool_h, pool_w), strides=strides), (height, width, channels), engine, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, channels))
    y = model.forward(x, training=True)
    expected_y, argmax = ref.maxpool_forward(x, (pool_h, pool_w), strides)
    np.testing.assert_array_equal(y, expected_y)
    dy = rng.standard_normal(y.shape)
    expected_dx = ref.maxpool_backward(dy, argmax, x.shape, (pool_h, pool_w), strides)
    assert_close(model.backward(dy), expected_dx, TOLERANCE)


@given(
    batch=st.integers(1, 4),
    inputs=st.integers(1, 12),
    units=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_dense_matches_naive(batch, inputs, units, seed):
    """Dense forward and backward (dx, dkernel, dbias) equal the naive loops to 1e-9."""
    layer = built(Dense(units), (inputs,), seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, inputs))
    y = layer.forward(x)
    assert_close(y, ref.dense_forward(x, layer.params["kernel"], layer.params["bias"]), TOLERANCE)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    expected_dx, expected_dkernel, expected_dbias = ref.dense_backward(x, layer.params["kernel"], dy)
    assert_close(dx, expected_dx, TOLERANCE)
    assert_close(layer.grads["kernel"], expected_dkernel, TOLERANCE)
    assert_close(layer.grads["bias"], expected_dbias, TOLERANCE)


@given(
    shape=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    engine=st.sampled_from(ENGINES),
    seed=st.integers(0, 2**32 - 1),
)
def test_relu_flatten_match_naive(shape, engine, seed):
    """ReLU and Flatten forward/backward equal the element-by-element twins (ReLU as written and
    by the fast engine's kernel)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.2] = 0.0  # exact zeros: the gradient there is 0
    dy = rng.standard_normal(shape)
    relu = one_layer(ReLU(), tuple(shape[1:]), engine, seed)
    np.testing.assert_array_equal(relu.forward(x, training=True), ref.relu_forward(x))
    np.testing.assert_array_equal(relu.backward(dy), ref.relu_backward(x, dy))
    flatten = Flatten()
    flat = flatten.forward(x)
    np.testing.assert_array_equal(flat, ref.flatten(x))
    np.testing.assert_array_equal(flatten.backward(flat * 2), ref.unflatten(flat * 2, x.shape))


@given(rate=st.floats(0.0, 0.95), engine=st.sampled_from(ENGINES), seed=st.integers(0, 2**32 - 1))
def test_dropout_matches_naive(rate, engine, seed):
    """Dropout in training mode is x * keep / (1 - rate) with keep = (uniform >= rate), as written
    and by the fast engine's kernel (the same masks)."""
    shape = (4, 50)
    layer = Dropout(rate, seed=seed)
    model = one_layer(layer, shape[1:], engine, seed)
    x = np.random.default_rng(seed + 1).standard_normal(shape)
    # What the layer's own generator will draw: 16-bit uniforms u = k / 65536, four to each of its
    # raw 64-bit outputs, lowest bits first.
    raw = np.random.default_rng(seed).bit_generator.random_raw(50)
    draws = np.array([(int(word) >> (16 * part)) & 0xFFFF for word in raw for part in range(4)]) / 65536
    draws = draws.reshape(shape)
    keep = draws >= rate
    y = model.forward(x, training=True)
    assert_close(y, ref.dropout_forward(x, keep, rate), 1e-15)
    dy = np.random.default_rng(seed + 2).standard_normal(shape)
    assert_close(model.backward(dy), ref.dropout_backward(dy, keep, rate), 1e-15)


def test_dropout_keeps_the_right_fraction():
    """Over 100,000 activations, the kept fraction is 1 - rate within 1% and the mean is preserved."""
    layer = Dropout(0.3, seed=5)
    x = np.ones((100, 1000))
    y = layer.forward(x, training=True)
    assert abs(np.mean(y != 0) - 0.7) < 0.01
    assert abs(np.mean(y) - 1.0) < 0.02


@given(
    batch=st.integers(1, 5),
    classes=st.integers(1, 6),
    scale=st.sampled_from([1.0, 30.0, 1e3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_cross_entropy_matches_naive(batch, classes, scale, seed):
    """SoftmaxCrossEntropy loss and dlogits equal the per-row math.log/exp twin, also for large logits."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((batch, classes)) * scale
    labels = rng.integers(0, classes, batch)
    expected_loss, expected_gradient = ref.softmax_cross_entropy(logits, labels)
    loss = SoftmaxCrossEntropy()
    assert loss.forward(logits, labels) == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
    # p - 1 for a label whose p is ~1 cancels in both versions: an absolute error of a few ulps of 1
    np.testing.assert_allclose(loss.backward(), expected_gradient, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("engine", ENGINES)
def test_network_matches_composed_naive_twins(engine):
    """A whole Sequential (conv same+valid with strides, pool, dropout, dense) equals the twins
    chained, under either engine."""
    model = Sequential(
        [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)), ReLU(),
         Dropout(0.5, seed=7), Flatten(), Dense(5)],
        input_shape=(8, 7, 2), dtype=np.float64, seed=1, engine=engine,
    )  # fmt: skip
    conv1, _, _, conv2, _, dropout, _, dense = model.layers
    for layer in (conv1, conv2, dense):
        layer.params["bias"][...] = np.random.default_rng(3).standard_normal(layer.params["bias"].shape)
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((3, 8, 7, 2)), rng.integers(0, 5, 3)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(model.forward(x, training=True), labels)
    dx = model.backward(loss.backward())

    # The same network by hand, with the mask the dropout layer drew (its generator re-created).
    a1 = ref.conv2d_forward(x, conv1.params["kernel"], conv1.params["bias"], (1, 1), "same")
    r1 = ref.relu_forward(a1)
    p1, argmax = ref.maxpool_forward(r1, 2)
    a2 = ref.conv2d_forward(p1, conv2.params["kernel"], conv2.params["bias"], (1, 2), "valid")
    r2 = ref.relu_forward(a2)
    keep = np.random.default_rng(7).integers(0, 65536, r2.shape, dtype=np.uint16) / 65536 >= 0.5
    d2 = ref.dropout_forward(r2, keep, 0.5)
    flat = ref.flatten(d2)
    logits = ref.dense_forward(flat, dense.params["kernel"], dense.params["bias"])
    expected_value, dlogits = ref.softmax_cross_entropy(logits, labels)
    dflat, dkernel3, dbias3 = ref.dense_backward(flat, dense.params["kernel"], dlogits)
    dr2 = ref.dropout_backward(ref.unflatten(dflat, d2.shape), keep, 0.5)
    dp1, dkernel2, dbias2 = ref.conv2d_backward(
        p1, conv2.params["kernel"], ref.relu_backward(a2, dr2), (1, 2), "valid"
    )
    dr1 = ref.maxpool_backward(dp1, argmax, r1.shape, 2)
    expected_dx, dkernel1, dbias1 = ref.conv2d_backward(
        x, conv1.params["kernel"], ref.relu_backward(a1, dr1), (1, 1), "same"
    )

    assert value == pytest.approx(expected_value, rel=1e-12)
    assert_close(dx, expected_dx, TOLERANCE)
    for layer, dkernel, dbias in (
        (conv1, dkernel1, dbias1),
        (conv2, dkernel2, dbias2),
        (dense, dkernel3, dbias3),
    ):
        assert_close(layer.grads["kernel"], dkernel, TOLERANCE)
        assert_close(layer.grads["bias"], dbias, TOLERANCE)
