"""Optimizers: turn each layer's `grads` into an update of its `params`.

State is kept per parameter, keyed "layer_name/param_key" (layer names are unique in a
Sequential), so `state_dict()` / `load_state_dict()` save and restore it exactly and training can
resume bit for bit.

Common options:
- `learning_rate`: a float, or a schedule: any callable `schedule(iteration) -> float`, called
  with the 0-based number of the step about to be taken (the schedule hook).
- `weight_decay`: L2 regularisation, added to every gradient as `weight_decay * param` (the
  classic coupled form, as `torch.optim`'s `weight_decay`).

Update rules (g = gradient, p = parameter, t = step number from 1):
- SGD:      b = momentum * b + g;  p -= lr * (g + momentum * b if nesterov else b)   (torch.optim's)
- Adam:     m += (1 - beta_1)(g - m);  v += (1 - beta_2)(g^2 - v);
            p -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)   (Keras')
- Adadelta: a = rho a + (1 - rho) g^2;  d = g sqrt(s + eps) / sqrt(a + eps);
            s = rho s + (1 - rho) d^2;  p -= lr * d                                     (Keras')
"""

import json
import math

import numpy as np

from tinycnn import kernels
from tinycnn.errors import WeightsFileError


class Optimizer:
    """Base class: the step loop, the schedule hook, weight decay and state saving."""

    slot_names = ()

    def __init__(self, learning_rate, weight_decay=0.0):
        if not callable(learning_rate):
            learning_rate = _positive(learning_rate, f"{type(self).__name__}: learning_rate")
        if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or weight_decay < 0:
            raise ValueError(
                f"{type(self).__name__}: weight_decay must be a number >= 0, got {weight_decay!r}"
            )
        self.learning_rate = learning_rate
        self.weight_decay = float(weight_decay)
        self.iterations = 0
        self.slots = {}

    def current_learning_rate(self):
        """The learning rate of the next step (the schedule's value, if there is one)."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def step(self, model):
        """Update every parameter of `model` (anything with `.layers`) from its gradient."""
        learning_rate = self.current_learning_rate()
        self.iterations += 1
        for layer in model.layers:
            for key, param in layer.params.items():
                gradient = layer.grads[key]
                if self.weight_decay:
                    gradient = gradient + self.weight_decay * param
                slots = self._slots_for(f"{layer.name}/{key}", param)
                self.update(param, gradient, slots, learning_rate)

    def _slots_for(self, param_id, param):
        if param_id not in self.slots:
            self.slots[param_id] = {name: np.zeros_like(param) for name in self.slot_names}
        slots = self.slots[param_id]
        for name, value in slots.items():
            if value.shape != param.shape or value.dtype != param.dtype:
                raise WeightsFileError(
                    f"{type(self).__name__}: state {name!r} of parameter {param_id!r} has shape {value.shape} "
                    f"{value.dtype}, but the parameter is {param.shape} {param.dtype} "
                    "(optimizer state from another model?)"
                )
        return slots

    def update(self, param, gradient, slots, learning_rate):
        """Apply one step to `param` in place."""
        raise NotImplementedError

    # --- state ----------------------------------------------------------------------------
    def get_config(self):
        learning_rate = None if callable(self.learning_rate) else self.learning_rate
        return {"learning_rate": learning_rate, "weight_decay": self.weight_decay}

    def state_dict(self):
        """Everything needed to resume: {name: ndarray}, with the config as a JSON string."""
        state = {
            "optimizer": np.array(json.dumps({"class": type(self).__name__, "config": self.get_config()})),
            "iterations": np.array(self.iterations, np.int64),
        }
        for param_id, slots in self.slots.items():
            for name, value in slots.items():
                state[f"slot/{param_id}/{name}"] = value.copy()
        return state

    def load_state_dict(self, state):
        """Restore iterations and slots saved by `state_dict` (the config must match)."""
        try:
            header = json.loads(str(state["optimizer"]))
            iterations = int(state["iterations"])
        except (KeyError, ValueError, TypeError, RecursionError, OverflowError) as error:
            raise WeightsFileError(f"not an optimizer state: {error}") from None
        if header.get("class") != type(self).__name__:
            raise WeightsFileError(
                f"optimizer state was saved by {header.get('class')}, cannot load into {type(self).__name__}"
            )
        slots = {}
        for key, value in state.items():
            if not key.startswith("slot/"):
                continue
            param_id, name = key[len("slot/") :].rsplit("/", 1)
            if name not in self.slot_names:
                raise WeightsFileError(f"{type(self).__name__} has no state slot {name!r} ({key})")
            slots.setdefault(param_id, {})[name] = np.array(value, copy=True)
        self.iterations, self.slots = iterations, slots

    def save(self, path):
        """Write `state_dict()` to an .npz file atomically."""
        from tinycnn.weights_file import write_npz_atomic

        write_npz_atomic(path, self.state_dict())

    @classmethod
    def load(cls, path, **overrides):
        """An optimizer rebuilt from a file written by `save` (pass `learning_rate=` for a schedule)."""
        from tinycnn.weights_file import read_npz

        state = read_npz(path)
        try:
            header = json.loads(str(state["optimizer"]))
            optimizer_class = OPTIMIZERS[header["class"]]
            config = {**header["config"], **overrides}
        except (KeyError, ValueError, TypeError, RecursionError) as error:
            raise WeightsFileError(f"{path}: not an optimizer state file ({error})") from None
        if cls is not Optimizer and optimizer_class is not cls:
            raise WeightsFileError(f"{path}: holds {header['class']} state, not {cls.__name__}")
        if config.get("learning_rate") is None:
            raise WeightsFileError(f"{path}: saved with a schedule; pass learning_rate= to load it")
        optimizer = optimizer_class(**config)
        optimizer.load_state_dict(state)
        return optimizer

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _positive(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value > 0:
        raise ValueError(f"{what} must be a number > 0, got {value!r}")
    return float(value)


def _fraction(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")
    return float(value)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.momentum = _fraction(momentum, "SGD: momentum")
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum else ()

    def update(self, param, gradient, slots, learning_rate):
        if not self.momentum:
            param -= learning_rate * gradient
            return
        velocity = slots["momentum"]
        velocity *= self.momentum
        velocity += gradient
        step = gradient + self.momentum * velocity if self.nesterov else velocity
        param -= learning_rate * step

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with Keras' defaults and Keras' placement of epsilon (outside the square root)."""

    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = _fraction(beta_1, "Adam: beta_1")
        self.beta_2 = _fraction(beta_2, "Adam: beta_2")
        self.epsilon = _positive(epsilon, "Adam: epsilon")

    def update(self, param, gradient, slots, learning_rate):
        step = self.iterations  # already counts this step
        alpha = learning_rate * math.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        kernels.adam_update(
            param, gradient, slots["m"], slots["v"], alpha, self.beta_1, self.beta_2, self.epsilon
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta with Keras' defaults (learning_rate 0.001, rho 0.95, epsilon 1e-7)."""

    slot_names = ("accumulated_gradient", "accumulated_delta")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.rho = _fraction(rho, "Adadelta: rho")
        self.epsilon = _positive(epsilon, "Adadelta: epsilon")

    def update(self, param, gradient, slots, learning_rate):
        accumulated_gradient, accumulated_delta = slots["accumulated_gradient"], slots["accumulated_delta"]
        accumulated_gradient *= self.rho
        accumulated_gradient += (1 - self.rho) * np.square(gradient)
        delta = (
            gradient
            * np.sqrt(accumulated_delta + self.epsilon)
            / np.sqrt(accumulated_gradient + self.epsilon)
        )
        accumulated_delta *= self.rho
        accumulated_delta += (1 - self.rho) * np.square(delta)
        param -= learning_rate * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, Adadelta)}
