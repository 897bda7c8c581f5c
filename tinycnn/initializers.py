"""Weight initializers: how a layer's kernel gets its first values.

Glorot uniform is Keras' default (so results compare with Keras); He suits ReLU networks.
For a convolution kernel (KH, KW, C_in, C_out) the fans are KH*KW*C_in and KH*KW*C_out, as in Keras.
"""

import numpy as np


def fans(shape):
    """(fan_in, fan_out) of a Dense kernel (in, out) or a Conv2D kernel (KH, KW, C_in, C_out)."""
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_uniform(shape, rng, dtype):
    """Uniform on [-limit, limit], limit = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_uniform(shape, rng, dtype):
    """Uniform on [-limit, limit], limit = sqrt(6 / fan_in)."""
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype):
    """Normal with std sqrt(2 / fan_in), truncated at two standard deviations (as Keras)."""
    fan_in, _ = fans(shape)
    std = np.sqrt(2.0 / fan_in) / 0.87962566103423978  # std of a unit normal truncated at +-2
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * std).astype(dtype)


def zeros(shape, rng, dtype):
    """All zeros (biases)."""
    return np.zeros(shape, dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
}


def get(name):
    """The initializer called `name`, with a clear error for an unknown one."""
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initializer {name!r}; choose one of {sorted(INITIALIZERS)}") from None
