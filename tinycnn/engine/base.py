"""What every engine does with its steps: run them forward in order and backward in reverse.

One pass (a forward, a backward) runs at a time in a process, whichever the model: a pass
already keeps every core busy, and chunk workers set NumPy's BLAS to one thread for the whole
process while they run, which must not change under another thread's matrix product. So two
threads predicting on two models get exactly what each would get alone.
"""

import threading

from tinycnn import settings
from tinycnn.engine.plan import Plan, PlannedStep

PASS_LOCK = threading.RLock()


class Engine:
    """Runs `layers` (a Sequential's, built) through the steps `make_steps` returns."""

    name = None

    def __init__(self, layers):
        self.layers = layers
        self._steps, self._made_for = None, None

    def make_steps(self, current):
        """The steps for the current settings (subclasses decide)."""
        raise NotImplementedError

    def steps(self):
        """The steps in use, made again when the layers or the settings they depend on change."""
        current = settings.current()
        key = (tuple(id(layer) for layer in self.layers), self.depends_on(current))
        if key != self._made_for:
            self._steps, self._made_for = self.make_steps(current), key
        return self._steps

    def depends_on(self, current):
        """The part of the settings that changes which steps there are."""
        return None

    def forward(self, x, training=False, keep=True):
        with PASS_LOCK:
            for step in self.steps():
                x = step.forward(x, training=training, keep=keep)
            return x

    def backward(self, dy, input_gradient=True):
        with PASS_LOCK:
            steps = self.steps()
            for index in range(len(steps) - 1, -1, -1):
                dy = steps[index].backward(dy, input_gradient=input_gradient or index > 0)
            return dy

    def plan(self, batch_size):
        current = settings.current()
        rows = [PlannedStep(step, step.layers, step.how(batch_size, current)) for step in self.steps()]
        return Plan(self.name, batch_size, rows, current.workers)
