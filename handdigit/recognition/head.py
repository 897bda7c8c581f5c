"""The not-a-digit head: the network's eleventh output, kept apart from the seed's digit classifier.

A network trained with rejection "class" (handdigit.training) ends in Dense11: outputs 0-9 are the
digits, output 10 says "not a digit", all read off the same 256 features. The shipped weights file
stores the seed's network exactly (Dense10, 2,380,938 parameters: `tinycnn.Sequential.load` gives
the plain digit classifier) and that eleventh output beside it, as two arrays:

    "extra/handdigit.not_a_digit.kernel"   (256, 1) float32   its column of the last Dense layer
    "extra/handdigit.not_a_digit.bias"     (1,) float32       its bias

`load_network(path)` puts them back together (an eleven-output network) when a file has them, and
loads a file without them as the ten-output network it is.
"""

import numpy as np

from tinycnn.errors import WeightsFileError

KERNEL, BIAS = "handdigit.not_a_digit.kernel", "handdigit.not_a_digit.bias"


def split_head(model):
    """(the ten-output digit network, {KERNEL: ..., BIAS: ...}) of an eleven-output network; a
    ten-output network comes back as it is, with no head ({})."""
    from handdigit.architecture import DIGITS, build_model

    if model.output_shape[-1] == DIGITS:
        return model, {}
    digits = build_model(dtype=model.dtype)  # the same layer names: the last is the same Dense
    weights = model.get_weights()
    last = model.layers[-1].name
    kernel, bias = weights[f"{last}/kernel"], weights[f"{last}/bias"]
    weights[f"{last}/kernel"] = np.ascontiguousarray(kernel[:, :DIGITS])
    weights[f"{last}/bias"] = bias[:DIGITS].copy()
    digits.set_weights(weights)
    return digits, {KERNEL: kernel[:, DIGITS:].copy(), BIAS: bias[DIGITS:].copy()}


def read_head(path):
    """The head stored in a weights file, validated ({KERNEL: (256, 1), BIAS: (1,)} float32), or
    None if the file has none."""
    from handdigit.recognition.extras import read_arrays

    return read_arrays(path, {KERNEL: (256, 1), BIAS: (1,)}, "the not-a-digit head")


def load_network(path):
    """The reference network stored at `path`, validated: ten outputs, or eleven when the file
    keeps a not-a-digit head beside it (or is a training run's own eleven-output network). A Keras
    file (.h5, .keras: the seed app's model, tinycnn.keras_weights) gives its ten-output network."""
    from handdigit.architecture import build_model
    from tinycnn.keras_weights import is_keras_file, load_keras

    if is_keras_file(path):
        return load_keras(path, build_model())
    head = read_head(path)
    digits = build_model()
    try:
        digits.load_weights(path)
    except WeightsFileError as error:
        if head is not None or "different architecture" not in str(error):
            raise
        whole = build_model(not_a_digit_output=True)  # a run's own file, saved as trained
        try:
            whole.load_weights(path)
        except WeightsFileError:
            raise error from None
        return whole
    if head is None:
        return digits
    whole = build_model(not_a_digit_output=True)  # the same layer names, one more output
    weights = digits.get_weights()
    last = whole.layers[-1].name
    weights[f"{last}/kernel"] = np.concatenate([weights[f"{last}/kernel"], head[KERNEL]], axis=1)
    weights[f"{last}/bias"] = np.concatenate([weights[f"{last}/bias"], head[BIAS]])
    whole.set_weights(weights, source=str(path))
    return whole
