"""tinycnn: a from-scratch, autograd-free convolutional network library in NumPy.

Every layer writes out its forward and backward pass; the hot loops (im2col, col2im, pooling) are
Numba kernels with pure-NumPy twins. Importing tinycnn does not import Numba: the kernels load on
first use, or ahead of time with `tinycnn.warmup()`.

Imported before NumPy, tinycnn asks OpenBLAS's idle threads to sleep about 20 us after a matrix
product (OPENBLAS_THREAD_TIMEOUT=16, unless set): by default they spin for about a tenth of a
second, taking a core from the Numba kernel that follows, and a training step alternates between
the two all the time. Set the variable yourself when NumPy is imported first.
"""

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")

from tinycnn.errors import ShapeError, WeightsFileError
from tinycnn.kernels import backend, warmup
from tinycnn.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from tinycnn.losses import SoftmaxCrossEntropy, softmax
from tinycnn.model import Sequential
from tinycnn.optimizers import SGD, Adadelta, Adam, Optimizer

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
    "SoftmaxCrossEntropy",
    "softmax",
    "Optimizer",
    "SGD",
    "Adam",
    "Adadelta",
    "ShapeError",
    "WeightsFileError",
    "backend",
    "warmup",
]
