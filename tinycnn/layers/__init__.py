"""The layers, one module per family; each has forward and backward written out."""

from tinycnn.layers.activations import ReLU, Sigmoid
from tinycnn.layers.base import Layer
from tinycnn.layers.conv import Conv2D
from tinycnn.layers.dense import Dense
from tinycnn.layers.dropout import Dropout
from tinycnn.layers.flatten import Flatten
from tinycnn.layers.pooling import MaxPool2D

LAYER_CLASSES = {cls.__name__: cls for cls in (Conv2D, MaxPool2D, Dropout, Flatten, Dense, ReLU, Sigmoid)}

__all__ = ["Layer", "Conv2D", "MaxPool2D", "Dropout", "Flatten", "Dense", "ReLU", "Sigmoid", "LAYER_CLASSES"]
