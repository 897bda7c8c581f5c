"""Solutions to the course's exercises. Try each one in its notebook first: the check tells you
what is wrong without giving the answer away, and these are here for when you are truly stuck (and
for CI, which runs the notebooks with them: HANDDIGIT_SOLUTIONS=1)."""

import numpy as np


def conv2d_forward(x, kernel, bias):
    n_images, height, width, _ = x.shape
    kernel_h, kernel_w, _, filters = kernel.shape
    y = np.zeros((n_images, height - kernel_h + 1, width - kernel_w + 1, filters))
    for n in range(n_images):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                window = x[n, i : i + kernel_h, j : j + kernel_w, :]
                for f in range(filters):
                    y[n, i, j, f] = np.sum(window * kernel[:, :, :, f]) + bias[f]
    return y


def receptive_field(layers):
    size, jump = 1, 1  # the window one unit sees, and the distance between neighbouring units' windows
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


def conv2d_backward(x, kernel, dy):
    kernel_h, kernel_w, _, filters = kernel.shape
    dx, dkernel, dbias = np.zeros_like(x), np.zeros_like(kernel), np.zeros(filters)
    for n in range(dy.shape[0]):
        for i in range(dy.shape[1]):
            for j in range(dy.shape[2]):
                window = x[n, i : i + kernel_h, j : j + kernel_w, :]
                for f in range(filters):
                    g = dy[n, i, j, f]
                    dbias[f] += g
                    dkernel[:, :, :, f] += g * window
                    dx[n, i : i + kernel_h, j : j + kernel_w, :] += g * kernel[:, :, :, f]
    return dx, dkernel, dbias


def dense_backward(x, kernel, dy):
    return dy @ kernel.T, x.T @ dy, dy.sum(axis=0)


def softmax_cross_entropy_gradient(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    probabilities[np.arange(len(labels)), labels] -= 1
    return probabilities / len(labels)


class Sigmoid:
    def forward(self, x):
        self.y = np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^-x), without overflow for large -x
        return self.y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


def maxpool_backward(x, dy):
    dx = np.zeros_like(x)
    for n, i, j, c in np.ndindex(dy.shape):
        window = x[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[n, 2 * i + a, 2 * j + b, c] += dy[n, i, j, c]
    return dx


def avgpool_backward(dy, x_shape):
    dx = np.zeros(x_shape)
    for n, i, j, c in np.ndindex(dy.shape):
        dx[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c] += dy[n, i, j, c] / 4
    return dx


def dropout_forward(x, rate, rng):
    keep = rng.random(x.shape) >= rate
    return x * keep / (1 - rate), keep


def dropout_backward(dy, keep, rate):
    return dy * keep / (1 - rate)


def sgd_momentum_step(param, gradient, velocity, learning_rate, momentum):
    velocity = momentum * velocity + gradient
    return param - learning_rate * velocity, velocity


def adam_step(param, gradient, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return param - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def train_epoch(model, loss, optimizer, images, labels, batch_size):
    losses = []
    for start in range(0, len(images), batch_size):
        batch, batch_labels = images[start : start + batch_size], labels[start : start + batch_size]
        losses.append(loss.forward(model.forward(batch, training=True), batch_labels))
        model.backward(loss.backward(), input_gradient=False)
        optimizer.step(model)
    return losses


def fgsm(model, images, labels, epsilon):
    from tinycnn import SoftmaxCrossEntropy

    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(images), labels)
    gradient = model.backward(loss.backward())
    return np.clip(images + epsilon * np.sign(gradient), 0, 1)
