"""The exercises as you start them: each notebook shows the same function to fill in (these copies
are what the tests check the verdicts against)."""


def conv2d_forward(x, kernel, bias):
    """x (N, H, W, C), kernel (KH, KW, C, F), bias (F,) -> y (N, H - KH + 1, W - KW + 1, F):
    no padding, stride 1, one output element at a time."""
    raise NotImplementedError("conv2d_forward: your loops go here")


def receptive_field(layers):
    """How many input pixels (along one side) one unit of the last layer sees, for layers given
    as [(kernel_size, stride), ...] from the input up."""
    raise NotImplementedError("receptive_field: your arithmetic goes here")


def conv2d_backward(x, kernel, dy):
    """Gradients of conv2d_forward: (dx like x, dkernel like kernel, dbias (F,)), given dy."""
    raise NotImplementedError("conv2d_backward: your loops go here")


def dense_backward(x, kernel, dy):
    """Gradients of y = x @ kernel + bias: (dx (N, D), dkernel (D, U), dbias (U,)), given dy (N, U)."""
    raise NotImplementedError("dense_backward: your three products go here")


def softmax_cross_entropy_gradient(logits, labels):
    """d(mean cross-entropy of softmax(logits))/d logits, (N, K), for integer labels (N,)."""
    raise NotImplementedError("softmax_cross_entropy_gradient: your formula goes here")


class Sigmoid:
    """A sigmoid layer: y = 1 / (1 + e^-x), element by element."""

    def forward(self, x):
        raise NotImplementedError("Sigmoid.forward: compute y (and keep what backward needs)")

    def backward(self, dy):
        raise NotImplementedError("Sigmoid.backward: dx from dy")


def maxpool_backward(x, dy):
    """Gradient of 2x2 max pooling with stride 2 (odd rows/columns dropped): dx like x, given dy."""
    raise NotImplementedError("maxpool_backward: your loops go here")


def avgpool_backward(dy, x_shape):
    """Gradient of 2x2 average pooling with stride 2: dx of shape x_shape, given dy."""
    raise NotImplementedError("avgpool_backward: your loops go here")


def dropout_forward(x, rate, rng):
    """Inverted dropout in training: (y, keep), keep a boolean mask of the units kept (a fraction
    `rate` is dropped), drawn from the NumPy generator `rng`."""
    raise NotImplementedError("dropout_forward: your mask and scale go here")


def dropout_backward(dy, keep, rate):
    """Gradient of dropout_forward for the mask `keep` it drew."""
    raise NotImplementedError("dropout_backward: one line goes here")


def sgd_momentum_step(param, gradient, velocity, learning_rate, momentum):
    """One step of SGD with momentum, as tinycnn.optimizers.SGD: (new param, new velocity)."""
    raise NotImplementedError("sgd_momentum_step: two lines go here")


def adam_step(param, gradient, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    """Step t (from 1) of Adam: (new param, new m, new v)."""
    raise NotImplementedError("adam_step: your update goes here")


def train_epoch(model, loss, optimizer, images, labels, batch_size):
    """One epoch over the examples in order, in batches of batch_size: the list of batch losses."""
    raise NotImplementedError("train_epoch: your loop goes here")


def fgsm(model, images, labels, epsilon):
    """The fast gradient sign method: images (N, H, W, 1) in [0, 1] changed by at most epsilon per
    pixel in the direction that raises the loss for their labels."""
    raise NotImplementedError("fgsm: your attack goes here")
