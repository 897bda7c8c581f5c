"""A tinycnn Sequential's weights as a PyTorch `state_dict`, and back, so that a learner can train in
one library and inspect in the other.

    from tinycnn.torch_state import to_state_dict, load_state_dict, torch_sequential
    state = to_state_dict(model)                  # {"0.weight": array, "0.bias": array, ...}
    torch_net = torch_sequential(model)           # the equivalent torch.nn.Sequential, weights in
    load_state_dict(model, torch_net.state_dict())
    load_state_dict(model, "net.pt")              # read with torch.load(..., weights_only=True)

Keys are those of the equivalent `torch.nn.Sequential`: layer i of the tinycnn model is module i
(Conv2D -> Conv2d, ReLU -> ReLU, MaxPool2D -> MaxPool2d, Dropout -> Dropout, Flatten -> Flatten,
Dense -> Linear), and a layer with parameters gives "i.weight" and "i.bias". The layouts differ:
- Conv2D kernels (kh, kw, C_in, C_out) are Conv2d weights (C_out, C_in, kh, kw);
- Dense kernels (in, out) are Linear weights (out, in);
- images are (N, H, W, C) here and (N, C, H, W) in PyTorch, so the two Flattens list a feature
  map's values in different orders, (h, w, c) and (c, h, w): the first Dense after a Flatten has
  its input rows permuted from one order to the other.
`to_state_dict` needs only NumPy; `torch_sequential` and reading .pt files need PyTorch.
"""

import os

import numpy as np

from tinycnn.errors import WeightsFileError
from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU


def _flattened_shapes(model):
    """{index of a Dense: the (H, W, C) map its Flatten flattened}, for the first Dense after each Flatten."""
    shapes, pending = {}, None
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Flatten) and len(layer.input_shape) == 3:
            pending = layer.input_shape
        elif isinstance(layer, Dense) and pending is not None:
            shapes[index], pending = pending, None
    return shapes


def _to_torch_layout(layer, key, value, flattened):
    if key == "bias":
        return value.copy()
    if isinstance(layer, Conv2D):
        return value.transpose(3, 2, 0, 1).copy()
    if flattened is not None:  # rows in (h, w, c) order -> (c, h, w) order
        height, width, channels = flattened
        value = value.reshape(height, width, channels, -1).transpose(2, 0, 1, 3).reshape(value.shape)
    return value.T.copy()


def _from_torch_layout(layer, key, value, flattened):
    if key == "bias":
        return value.copy()
    if isinstance(layer, Conv2D):
        return value.transpose(2, 3, 1, 0).copy()
    value = value.T
    if flattened is not None:  # rows in (c, h, w) order -> (h, w, c) order
        height, width, channels = flattened
        value = value.reshape(channels, height, width, -1).transpose(1, 2, 0, 3).reshape(value.shape)
    return np.ascontiguousarray(value)


TORCH_NAMES = {"kernel": "weight", "bias": "bias"}


def to_state_dict(model):
    """{"i.weight"/"i.bias": array in PyTorch's layout} of `model` (NumPy arrays, copies)."""
    flattened = _flattened_shapes(model)
    return {
        f"{index}.{TORCH_NAMES[key]}": _to_torch_layout(layer, key, value, flattened.get(index))
        for index, layer in enumerate(model.layers)
        for key, value in layer.params.items()
    }


def read_state_dict(path):
    """A state_dict saved with torch.save, read with weights_only=True (no pickled code runs)."""
    import torch

    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsFileError(f"{path}: no such file") from None
    except Exception as error:  # noqa: BLE001 - torch raises many kinds; one sentence for all
        raise WeightsFileError(
            f"{path}: not a readable PyTorch state_dict ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(state, dict):
        raise WeightsFileError(f"{path}: holds a {type(state).__name__}, not a state_dict")
    return state


def load_state_dict(model, state, source=None):
    """Copy a PyTorch state_dict (a dict of tensors or arrays, or the path of a .pt file) into
    `model`'s parameters, validated: every key present, no other, every shape right."""
    if isinstance(state, (str, os.PathLike)):
        source = source or os.fspath(state)
        state = read_state_dict(state)
    source = source or "state_dict"
    flattened = _flattened_shapes(model)
    expected = {
        f"{index}.{TORCH_NAMES[key]}": (index, layer, key)
        for index, layer in enumerate(model.layers)
        for key in layer.params
    }
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        details = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(unexpected)}"] if unexpected else []
        )
        raise WeightsFileError(f"{source}: keys do not match the network: {'; '.join(details)}")
    weights = {}
    for name, (index, layer, key) in expected.items():
        value = state[name]
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        wanted = _to_torch_layout(layer, key, layer.params[key], flattened.get(index)).shape
        if value.shape != wanted:
            raise WeightsFileError(
                f"{source}: {name} ({type(layer).__name__} {layer.name!r}) has shape {tuple(value.shape)}, "
                f"expected {wanted}"
            )
        converted = _from_torch_layout(layer, key, value, flattened.get(index)).astype(model.dtype)
        weights[f"{layer.name}/{key}"] = converted
    model.set_weights(weights, source=source)
    return model


def torch_sequential(model):
    """The torch.nn.Sequential equivalent to `model`, with its weights (needs PyTorch). It takes
    (N, C, H, W) images: transpose tinycnn's (N, H, W, C) with x.permute(0, 3, 1, 2)."""
    import torch
    from torch import nn

    modules = []
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            kernel_h, kernel_w = layer.kernel_size
            if layer.padding == "same" and (
                layer.strides != (1, 1) or kernel_h % 2 == 0 or kernel_w % 2 == 0
            ):
                raise ValueError(
                    f"torch_sequential: {layer.describe()}: padding 'same' with stride {layer.strides} and kernel "
                    f"{layer.kernel_size} pads unevenly, which Conv2d cannot express (its state_dict still converts)"
                )
            padding = (kernel_h // 2, kernel_w // 2) if layer.padding == "same" else 0
            modules.append(
                nn.Conv2d(layer.input_shape[2], layer.filters, layer.kernel_size, layer.strides, padding)
            )
        elif isinstance(layer, ReLU):
            modules.append(nn.ReLU())
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.pool_size, layer.strides))
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
        elif isinstance(layer, Dense):
            modules.append(nn.Linear(layer.input_shape[0], layer.units))
        else:
            raise ValueError(f"torch_sequential: no PyTorch module for {layer.describe()}")
    network = nn.Sequential(*modules)
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    network.load_state_dict({key: torch.from_numpy(value) for key, value in to_state_dict(model).items()})
    return network.to(dtype).eval()
