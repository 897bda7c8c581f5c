"""Dropout (inverted): while training, zero each activation with probability `rate` and scale the
survivors by 1 / (1 - rate), so that inference needs no rescaling and is the identity.

`rate` is the fraction DROPPED (Keras' and PyTorch's meaning). Each Dropout layer draws from its own
seeded generator, whose state is saved in checkpoints so a resumed run draws the same masks.

Shapes: any (N, ...) -> the same.
Forward (training):  y  = x * keep / (1 - rate),  keep = (u >= rate),  u ~ U[0, 1)
Backward:            dx = dy * keep / (1 - rate)
u is a 16-bit uniform draw k / 65536 (k = 0 .. 65535), four to a 64-bit output of the generator
(its raw stream, split: eight times cheaper than drawing floats), fine enough for any dropout
rate (the kept fraction is exact for rates like 0.25 and 0.5): keep = (k >= keep_threshold(rate)).
In inference mode both passes are the identity and hand back the very array they were given.
The plain loops: `tinycnn.reference.dropout_forward` and `dropout_backward`.
"""

import math

import numpy as np

from tinycnn.layers.base import Layer


def sixteen_bit_draws(rng, shape):
    """Uniform integers 0 .. 65535 of `shape`: the generator's raw 64-bit outputs, four draws each
    (lowest 16 bits first)."""
    size = math.prod(shape)
    raw = rng.bit_generator.random_raw(-(-size // 4))
    return raw.view(np.uint16)[:size].reshape(shape)


def keep_threshold(rate):
    """The smallest draw k that is kept: k / 65536 >= rate  <=>  k >= ceil(rate * 65536)."""
    return math.ceil(rate * 65536)


class Dropout(Layer):
    """Inverted dropout; `rate` in [0, 1) is the fraction of activations dropped."""

    default_name = "dropout"

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate (the fraction dropped) must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def create_params(self, rng, dtype):
        # No parameters; without an explicit seed, the model's generator seeds this layer's own.
        if self.seed is None:
            self.rng = np.random.default_rng(rng.integers(2**63))

    @property
    def scale(self):
        """1 / (1 - rate), in the layer's dtype: what survivors are multiplied by."""
        return self.dtype.type(1.0 / (1.0 - self.rate))

    def forward(self, x, training=False, keep=True):
        x = self.check_input(x)
        if not training or self.rate == 0.0:
            self._saved = "identity" if keep else None
            return x
        kept = sixteen_bit_draws(self.rng, x.shape) >= keep_threshold(self.rate)
        self._saved = kept if keep else None
        return np.where(kept, x * self.scale, 0)

    def backward(self, dy, input_gradient=True):
        kept = self.saved()
        dy = self.check_gradient(dy)
        if not input_gradient:
            return None
        if isinstance(kept, str):
            return dy
        return np.where(kept, dy * self.scale, 0)

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed}
