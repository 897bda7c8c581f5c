"""`python -m tinycnn`: a self-check a learner can run and read.

Prints the kernel backend and how long the kernels took to compile (or load from cache), the
summary of the HandDigit reference network, and a live finite-difference check of every layer's
backward pass on a small float64 network.
"""

import time

import numpy as np

import tinycnn
from tinycnn.gradient_check import numerical_gradient, relative_error


def reference_network(dtype=np.float32, seed=0):
    """Conv32-Conv64-MaxPool-Dropout-Flatten-Dense256-Dropout-Dense10 for 28x28x1 images."""
    from tinycnn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential

    layers = [
        Conv2D(32, 3), ReLU(), Conv2D(64, 3), ReLU(), MaxPool2D(2), Dropout(0.25),
        Flatten(), Dense(256), ReLU(), Dropout(0.5), Dense(10),
    ]  # fmt: skip
    return Sequential(layers, input_shape=(28, 28, 1), dtype=dtype, seed=seed)


def main():
    started = time.perf_counter()
    backend = tinycnn.warmup()
    print(f"tinycnn {tinycnn.__version__}: {backend} kernels ready in {time.perf_counter() - started:.2f} s")
    print()
    reference_network().summary()
    print()
    from tinycnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy

    rng = np.random.default_rng(0)
    model = Sequential(
        [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, (2, 3), strides=(1, 2)),
         ReLU(), Flatten(), Dense(5)],
        input_shape=(8, 8, 2), dtype=np.float64, seed=1,
    )  # fmt: skip
    x, labels = rng.standard_normal((2, 8, 8, 2)), rng.integers(0, 5, 2)
    loss = SoftmaxCrossEntropy()

    def loss_value():
        return loss.forward(model.forward(x), labels)

    loss_value()
    dx = model.backward(loss.backward())
    print("Finite-difference check of a small float64 network (relative error, want < 1e-6):")
    print(f"  {'input':24s} {relative_error(numerical_gradient(loss_value, x), dx):.2e}")
    for layer in model.layers:
        for key, param in layer.params.items():
            loss_value()
            model.backward(loss.backward())
            analytic = layer.grads[key].copy()
            numeric = numerical_gradient(loss_value, param)
            print(f"  {layer.name + '/' + key:24s} {relative_error(numeric, analytic):.2e}")


if __name__ == "__main__":
    main()
