"""The reference network, exactly the seed app's: Conv32-Conv64-MaxPool-Dropout-Flatten-Dense256-
Dropout-Dense10 on 28x28x1 images, 2,380,938 parameters. It outputs logits; softmax lives in the
loss (training) and in prediction.

Trained to say "not a digit", the network has one more output beside the ten digits' (its last
layer is Dense11: 257 more parameters reading the same 256 features). The shipped weights file
keeps the seed's Dense10 network and that output apart, as a head
(handdigit.recognition.head).
"""

import numpy as np

INPUT_SHAPE = (28, 28, 1)
PARAMETER_COUNT = 2_380_938
DIGITS = 10  # outputs 0-9: the digits; output 10, when there is one: "not a digit"


def build_model(seed=0, dtype=np.float32, not_a_digit_output=False):
    """A freshly initialised reference network (Glorot uniform kernels, zero biases); with
    `not_a_digit_output`, an eleventh output for "not a digit"."""
    from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential

    layers = [
        Conv2D(32, 3), ReLU(),
        Conv2D(64, 3), ReLU(),
        MaxPool2D(2), Dropout(0.25),
        Flatten(),
        Dense(256), ReLU(), Dropout(0.5),
        Dense(DIGITS + 1 if not_a_digit_output else DIGITS),
    ]  # fmt: skip
    return Sequential(layers, input_shape=INPUT_SHAPE, dtype=dtype, seed=seed, name="handdigit_cnn")
