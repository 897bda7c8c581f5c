"""tinycnn: a from-scratch, autograd-free convolutional network library in NumPy.

Every layer writes out its forward and backward pass in plain NumPy (tinycnn/layers/, with a
plain-loop twin of each in tinycnn.reference). The speed lives beside them: the hot loops are
Numba kernels with NumPy twins (tinycnn/kernels/), and an engine plans how a model runs its layers
(tinycnn/engine/: fused blocks, chunks of images on every core, Winograd's convolution);
`print(model.plan())` shows it. How the library runs is one settings object (tinycnn.settings);
a training run's state saves and loads with tinycnn.checkpoint.

Importing tinycnn does not import Numba: the kernels compile (or load from Numba's cache) on first
use, or ahead of time with `tinycnn.warmup()`. tinycnn.settings is imported first: it sets
OPENBLAS_THREAD_TIMEOUT before NumPy loads (its docstring says why).
"""

from tinycnn import settings  # first: before NumPy loads

# isort: split
from tinycnn import checkpoint  # noqa: E402
from tinycnn.engine import warmup  # noqa: E402
from tinycnn.errors import ShapeError, WeightsFileError  # noqa: E402
from tinycnn.kernels import backend  # noqa: E402
from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU, Sigmoid  # noqa: E402
from tinycnn.losses import SoftmaxCrossEntropy, softmax  # noqa: E402
from tinycnn.model import Sequential  # noqa: E402
from tinycnn.optimizers import SGD, Adadelta, Adam, Optimizer  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "Layer",
    "Conv2D",
    "MaxPool2D",
    "Dropout",
    "Flatten",
    "Dense",
    "ReLU",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "softmax",
    "Optimizer",
    "SGD",
    "Adam",
    "Adadelta",
    "ShapeError",
    "WeightsFileError",
    "backend",
    "settings",
    "checkpoint",
    "warmup",
]
