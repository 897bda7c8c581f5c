"""The reference network, exactly the seed app's: Conv32-Conv64-MaxPool-Dropout-Flatten-Dense256-
Dropout-Dense10 on 28x28x1 images, 2,380,938 parameters. It outputs logits; softmax lives in the
loss (training) and in prediction.
"""

import numpy as np

INPUT_SHAPE = (28, 28, 1)
PARAMETER_COUNT = 2_380_938


def build_model(seed=0, dtype=np.float32):
    """A freshly initialised reference network (Glorot uniform kernels, zero biases)."""
    from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential

    layers = [
        Conv2D(32, 3), ReLU(),
        Conv2D(64, 3), ReLU(),
        MaxPool2D(2), Dropout(0.25),
        Flatten(),
        Dense(256), ReLU(), Dropout(0.5),
        Dense(10),
    ]  # fmt: skip
    return Sequential(layers, input_shape=INPUT_SHAPE, dtype=dtype, seed=seed, name="handdigit_cnn")
