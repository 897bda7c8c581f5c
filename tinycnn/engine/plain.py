"""The plain engine: every layer's own forward and backward, in order, exactly as written."""

from tinycnn.engine.base import Engine
from tinycnn.engine.steps import LayerStep


class PlainEngine(Engine):
    """One step per layer, each the layer as written (tinycnn/layers/)."""

    name = "plain"

    def make_steps(self, current):
        return [LayerStep(layer) for layer in self.layers]
