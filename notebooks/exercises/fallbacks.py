"""The library's versions of the exercises, with the exercises' signatures: what a notebook uses
while your own function is not written yet or does not pass its check, so that every cell after
it still runs."""

import numpy as np

from tinycnn import SoftmaxCrossEntropy, reference


def conv2d_forward(x, kernel, bias):
    return reference.conv2d_forward(x, kernel, bias)


def receptive_field(layers):
    from exercises.checks import _receptive_field_brute_force

    return _receptive_field_brute_force(layers)


def conv2d_backward(x, kernel, dy):
    return reference.conv2d_backward(x, kernel, dy)


def dense_backward(x, kernel, dy):
    return reference.dense_backward(x, kernel, dy)


def softmax_cross_entropy_gradient(logits, labels):
    return reference.softmax_cross_entropy(logits, labels)[1]


def _sigmoid_layer():
    from tinycnn import Sigmoid

    return Sigmoid


Sigmoid = _sigmoid_layer()


def maxpool_backward(x, dy):
    _, argmax = reference.maxpool_forward(x, 2)
    return reference.maxpool_backward(dy, argmax, x.shape, 2)


def avgpool_backward(dy, x_shape):
    dx = np.zeros(x_shape)
    rows, columns = 2 * dy.shape[1], 2 * dy.shape[2]
    dx[:, :rows, :columns] = np.repeat(np.repeat(dy, 2, axis=1), 2, axis=2) / 4
    return dx


def dropout_forward(x, rate, rng):
    keep = rng.random(x.shape) >= rate
    return reference.dropout_forward(x, keep, rate), keep


def dropout_backward(dy, keep, rate):
    return reference.dropout_backward(dy, keep, rate)


def _step(optimizer, param, gradient, slots):
    from exercises.checks import _OneParameter

    holder = _OneParameter(np.asarray(param, np.float64))
    holder.grads["w"][...] = gradient
    optimizer.slots["p/w"] = {name: np.array(value, np.float64) for name, value in slots.items()}
    optimizer.step(holder)
    return holder.params["w"], optimizer.slots["p/w"]


def sgd_momentum_step(param, gradient, velocity, learning_rate, momentum):
    from tinycnn.optimizers import SGD

    param, slots = _step(SGD(learning_rate, momentum=momentum), param, gradient, {"momentum": velocity})
    return param, slots["momentum"]


def adam_step(param, gradient, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    from tinycnn.optimizers import Adam

    optimizer = Adam(learning_rate, beta_1, beta_2, epsilon)
    optimizer.iterations = t - 1
    param, slots = _step(optimizer, param, gradient, {"m": m, "v": v})
    return param, slots["m"], slots["v"]


def train_epoch(model, loss, optimizer, images, labels, batch_size):
    losses = []
    for start in range(0, len(images), batch_size):
        batch, batch_labels = images[start : start + batch_size], labels[start : start + batch_size]
        losses.append(loss.forward(model.forward(batch, training=True), batch_labels))
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(model)
    return losses


def fgsm(model, images, labels, epsilon):
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(images), labels)
    return np.clip(images + epsilon * np.sign(model.backward(loss.backward())), 0, 1)
