"""The fast engine: a model's layers turned into steps that run them quickly.

The planner walks the layers once:
- Conv2D -> ReLU -> MaxPool2D and Conv2D -> ReLU become one fused ConvolutionStep, a Conv2D alone
  an unfused one (tinycnn.engine.convolution: chunks of images on chunk workers, im2col + GEMM or
  Winograd's F(4x4, 3x3));
- ReLU, MaxPool2D and Dropout run by their kernels, with buffers the step keeps (tinycnn.engine.steps);
- every other layer (Dense, Flatten, ...) runs as written.
With the `fuse` setting off, each Conv2D, ReLU and MaxPool2D is a step of its own.
"""

from tinycnn.engine.base import Engine
from tinycnn.engine.convolution import ConvolutionStep
from tinycnn.engine.steps import DropoutStep, LayerStep, MaxPoolStep, ReLUStep
from tinycnn.layers import Conv2D, Dropout, MaxPool2D, ReLU


def plan_steps(layers, fuse=True):
    """The steps that run `layers`, fused where `fuse` allows."""
    steps, index = [], 0
    while index < len(layers):
        layer = layers[index]
        if isinstance(layer, Conv2D):
            block = [layer]
            if fuse and index + 1 < len(layers) and isinstance(layers[index + 1], ReLU):
                block.append(layers[index + 1])
                if index + 2 < len(layers) and isinstance(layers[index + 2], MaxPool2D):
                    block.append(layers[index + 2])
            steps.append(ConvolutionStep(*block))
            index += len(block)
            continue
        if isinstance(layer, ReLU):
            steps.append(ReLUStep(layer))
        elif isinstance(layer, MaxPool2D):
            steps.append(MaxPoolStep(layer))
        elif isinstance(layer, Dropout):
            steps.append(DropoutStep(layer))
        else:
            steps.append(LayerStep(layer))
        index += 1
    return steps


class FastEngine(Engine):
    """The layers as planned by `plan_steps` (fused unless the `fuse` setting is off)."""

    name = "fast"

    def depends_on(self, current):
        return current.fuse

    def make_steps(self, current):
        return plan_steps(self.layers, fuse=current.fuse)
