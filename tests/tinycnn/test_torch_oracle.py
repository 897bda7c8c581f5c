"""PyTorch as an independent oracle: the full reference network with the same weights, in float32.

Layout conversions (tinycnn is NHWC with Keras' kernel layouts, PyTorch is NCHW):
- images (N, H, W, C) -> (N, C, H, W);
- Conv2D kernels (KH, KW, C_in, C_out) -> (C_out, C_in, KH, KW);
- Dense kernels (in, out) -> (out, in);
- the first Dense after Flatten: tinycnn flattens in (H, W, C) order, PyTorch in (C, H, W) order,
  so that kernel's rows are permuted from (H, W, C) to (C, H, W) order.
"""

import numpy as np
import pytest

from tinycnn import SGD, Adam, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, SoftmaxCrossEntropy
from tinycnn.__main__ import reference_network

torch = pytest.importorskip("torch", reason="PyTorch (CPU) is the oracle here: pip install '.[peers]'")
nn = torch.nn

BATCH = 16


@pytest.fixture(autouse=True, scope="module")
def two_torch_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def to_torch_layout(layer, key, array, flatten_shape=None):
    """A tinycnn parameter (or gradient) in PyTorch's layout."""
    if key == "bias":
        return array.copy()
    if isinstance(layer, Conv2D):
        return array.transpose(3, 2, 0, 1).copy()  # (KH, KW, C_in, C_out) -> (C_out, C_in, KH, KW)
    if flatten_shape is not None:  # rows in (H, W, C) order -> (C, H, W) order
        h, w, c = flatten_shape
        array = array.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
    return array.T.copy()  # (in, out) -> (out, in)


def from_torch_layout(layer, key, array, flatten_shape=None):
    """A PyTorch parameter (or gradient) in tinycnn's layout: the inverse of `to_torch_layout`."""
    if key == "bias":
        return array.copy()
    if isinstance(layer, Conv2D):
        return array.transpose(2, 3, 1, 0).copy()
    array = array.T
    if flatten_shape is not None:
        h, w, c = flatten_shape
        array = array.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)
    return array.copy()


def torch_twin(model):
    """An equivalent torch.nn.Sequential holding copies of `model`'s weights, and the pairs
    [(tinycnn layer, torch module, flatten shape)] of layers with parameters (the flatten shape,
    (H, W, C), only for the Dense layer right after Flatten)."""
    modules, pairs = [], []
    flatten_shape = None
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            assert layer.padding == "valid"
            module = nn.Conv2d(layer.input_shape[2], layer.filters, layer.kernel_size, stride=layer.strides)
        elif isinstance(layer, Dense):
            module = nn.Linear(layer.input_shape[0], layer.units)
        elif isinstance(layer, Flatten):
            module, flatten_shape = nn.Flatten(), layer.input_shape
        elif isinstance(layer, MaxPool2D):
            module = nn.MaxPool2d(layer.pool_size, stride=layer.strides)
        elif isinstance(layer, Dropout):
            module = nn.Dropout(layer.rate)
        else:
            assert isinstance(layer, ReLU), layer
            module = nn.ReLU()
        if layer.params:
            shape = flatten_shape if isinstance(layer, Dense) else None
            with torch.no_grad():
                module.weight.copy_(
                    torch.from_numpy(to_torch_layout(layer, "kernel", layer.params["kernel"], shape))
                )
                module.bias.copy_(torch.from_numpy(to_torch_layout(layer, "bias", layer.params["bias"])))
            pairs.append((layer, module, shape))
            if isinstance(layer, Dense):
                flatten_shape = None
        modules.append(module)
    return nn.Sequential(*modules), pairs


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, BATCH)


def to_torch(x):
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)


def assert_float32_close(actual, expected, what, atol=0.0):
    """rtol 1e-4 plus an absolute floor of 1e-5 of the array's scale (float32 sums of up to 9216
    terms, in another order), or `atol` if larger."""
    scale = float(np.max(np.abs(expected)))
    atol = max(atol, 1e-5 * max(scale, 1e-3))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=atol, err_msg=what)


@pytest.mark.parametrize("engine", ["fast", "plain"])
def test_reference_network_forward_and_gradients_match_torch(engine):
    """Logits, loss, every parameter gradient and the input gradient of the reference network equal
    PyTorch's, under either engine (the fast one runs the second convolution by Winograd here)."""
    model = reference_network(dtype=np.float32, seed=0)
    model.engine = engine
    twin, pairs = torch_twin(model)
    twin.eval()  # inference mode: dropout off on both sides
    x, labels = batch()

    loss = SoftmaxCrossEntropy()
    logits = model.forward(x, training=False)
    value = loss.forward(logits, labels)
    dx = model.backward(loss.backward())

    x_torch = to_torch(x)
    torch_logits = twin(x_torch)
    torch_loss = nn.functional.cross_entropy(torch_logits, torch.from_numpy(labels))
    torch_loss.backward()

    assert_float32_close(logits, torch_logits.detach().numpy(), "logits")
    assert value == pytest.approx(torch_loss.item(), rel=1e-5)
    assert_float32_close(dx, x_torch.grad.numpy().transpose(0, 2, 3, 1), "input gradient")
    assert len(pairs) == 4
    for layer, module, flatten_shape in pairs:
        for key, torch_param in (("kernel", module.weight), ("bias", module.bias)):
            expected = from_torch_layout(layer, key, torch_param.grad.numpy(), flatten_shape)
            assert layer.grads[key].shape == expected.shape
            assert_float32_close(layer.grads[key], expected, f"{layer.name}/{key} gradient")


def torch_adam(epsilon):
    return lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=epsilon)


@pytest.mark.parametrize(
    ("make_tinycnn", "make_torch", "step_atol"),
    [
        (lambda: SGD(0.05, momentum=0.9), lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9), 0),
        (
            lambda: SGD(0.05, momentum=0.9, nesterov=True),
            lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
            0,
        ),
        (lambda: Adam(1e-3, epsilon=1e-4), torch_adam(1e-4), 0),
        # Keras' default epsilon 1e-7: Adam's m / sqrt(v) magnifies float32 rounding in the few
        # gradients that cancel to ~1e-7 (a handful of 2.4M weights move ~0.2% of a step apart), so
        # allow 1% of one step (lr = 1e-3). A wrong epsilon placement moves ~10^6 weights by ~1e-3.
        (lambda: Adam(1e-3), torch_adam(1e-7), 1e-5),
    ],
    ids=["sgd-momentum", "sgd-nesterov", "adam-eps1e-4", "adam-keras-defaults"],
)
def test_optimizer_steps_match_torch(make_tinycnn, make_torch, step_atol):
    """Three training steps (SGD momentum, Nesterov, Adam) leave the same parameters as torch.optim."""
    model = reference_network(dtype=np.float32, seed=1)
    twin, pairs = torch_twin(model)
    twin.eval()
    optimizer, torch_optimizer = make_tinycnn(), make_torch(twin.parameters())
    loss = SoftmaxCrossEntropy()
    initial = {
        (layer.name, key): value.copy() for layer, _, _ in pairs for key, value in layer.params.items()
    }
    for step in range(1, 4):
        x, labels = batch(seed=step)
        loss.forward(model.forward(x, training=False), labels)
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(model)

        torch_optimizer.zero_grad()
        nn.functional.cross_entropy(twin(to_torch(x)), torch.from_numpy(labels)).backward()
        if isinstance(optimizer, Adam):
            # Keras: m / (sqrt(v) + eps) * sqrt(1 - b2^t); torch: m / (sqrt(v) / sqrt(1 - b2^t) + eps_torch)
            torch_optimizer.param_groups[0]["eps"] = optimizer.epsilon / np.sqrt(1 - optimizer.beta_2**step)
        torch_optimizer.step()

    for layer, module, flatten_shape in pairs:
        for key, torch_param in (("kernel", module.weight), ("bias", module.bias)):
            expected = from_torch_layout(layer, key, torch_param.detach().numpy(), flatten_shape)
            # After a step, float32 rounding (another summation order: torch's, or our chunk
            # workers') can flip a near-tie in a max-pool window, and the next step routes that
            # window's gradient elsewhere. Allow 0.1% of the parameter's largest move over the
            # three steps; a wrong update rule is off by about the move itself.
            move = float(np.max(np.abs(expected - initial[layer.name, key])))
            atol = max(step_atol, 1e-3 * move)
            assert_float32_close(layer.params[key], expected, f"{layer.name}/{key} after 3 steps", atol)
