"""Every exercise's check against its solution (passes), its stub (fails: not written yet) and
plausible wrong answers (fail, saying what is wrong without the answer); `attempt` falls back to
the library's version so a notebook runs on."""

import numpy as np
import pytest

import exercises
from exercises import check, fallbacks, solutions, stubs

# --- plausible wrong answers: (exercise, the wrong function, words the verdict must contain) ------


def conv_flipped(x, kernel, bias):
    return solutions.conv2d_forward(x, kernel[::-1, ::-1], bias)


def conv_without_bias(x, kernel, bias):
    return solutions.conv2d_forward(x, kernel, np.zeros_like(bias))


def conv_channels_first(x, kernel, bias):
    return np.moveaxis(solutions.conv2d_forward(x, kernel, bias), 3, 1)


def field_ignoring_strides(layers):
    return sum(kernel - 1 for kernel, _ in layers) + 1


def conv_backward_flipped(x, kernel, dy):
    return solutions.conv2d_backward(x, kernel[::-1, ::-1], dy)


def conv_backward_first_image_bias(x, kernel, dy):
    dx, dkernel, _ = solutions.conv2d_backward(x, kernel, dy)
    return dx, dkernel, dy[0].sum(axis=(0, 1))


def dense_backward_transposed(x, kernel, dy):
    dx, dkernel, dbias = solutions.dense_backward(x, kernel, dy)
    return dx, dkernel.T, dbias


def dense_backward_mean_bias(x, kernel, dy):
    dx, dkernel, _ = solutions.dense_backward(x, kernel, dy)
    return dx, dkernel, dy.mean(axis=0)


def softmax_gradient_summed(logits, labels):
    return solutions.softmax_cross_entropy_gradient(logits, labels) * len(labels)


def softmax_gradient_backwards(logits, labels):
    return -solutions.softmax_cross_entropy_gradient(logits, labels)


def softmax_gradient_unshifted(logits, labels):
    with np.errstate(over="ignore", invalid="ignore"):
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probabilities[np.arange(len(labels)), labels] -= 1
    return probabilities / len(labels)


class SigmoidWithInput(solutions.Sigmoid):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dy):
        return dy * self.x * (1 - self.x)


class SigmoidWithoutDerivative(solutions.Sigmoid):
    def backward(self, dy):
        return dy * self.y


def maxpool_spread(x, dy):
    return fallbacks.avgpool_backward(dy, x.shape)


def avgpool_unscaled(dy, x_shape):
    return 4 * solutions.avgpool_backward(dy, x_shape)


def dropout_unscaled(x, rate, rng):
    keep = rng.random(x.shape) >= rate
    return x * keep, keep


def dropout_keeps_the_rate(x, rate, rng):
    keep = rng.random(x.shape) < rate
    return x * keep / (1 - rate), keep


def dropout_global_random(x, rate, rng):
    keep = np.random.random(x.shape) >= rate
    return x * keep / (1 - rate), keep


def dropout_backward_without_mask(dy, keep, rate):
    return dy / (1 - rate)


def dropout_backward_unscaled(dy, keep, rate):
    return dy * keep


def momentum_as_average(param, gradient, velocity, learning_rate, momentum):
    velocity = momentum * velocity + (1 - momentum) * gradient
    return param - learning_rate * velocity, velocity


def momentum_uphill(param, gradient, velocity, learning_rate, momentum):
    velocity = momentum * velocity + gradient
    return param + learning_rate * velocity, velocity


def adam_without_bias_correction(param, gradient, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient**2
    return param - learning_rate * m / (np.sqrt(v) + epsilon), m, v


def epoch_without_the_last_batch(model, loss, optimizer, images, labels, batch_size):
    whole = len(images) // batch_size * batch_size
    return solutions.train_epoch(model, loss, optimizer, images[:whole], labels[:whole], batch_size)


def epoch_stepping_before_backward(model, loss, optimizer, images, labels, batch_size):
    losses = []
    for start in range(0, len(images), batch_size):
        batch, batch_labels = images[start : start + batch_size], labels[start : start + batch_size]
        losses.append(loss.forward(model.forward(batch, training=True), batch_labels))
        optimizer.step(model)  # with the previous batch's gradients
        model.backward(loss.backward(), input_gradient=False)
    return losses


def fgsm_downhill(model, images, labels, epsilon):
    from tinycnn import SoftmaxCrossEntropy

    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(images), labels)
    return np.clip(images - epsilon * np.sign(model.backward(loss.backward())), 0, 1)


def fgsm_unclipped(model, images, labels, epsilon):
    from tinycnn import SoftmaxCrossEntropy

    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(images), labels)
    return images + epsilon * np.sign(model.backward(loss.backward()))


WRONG = [
    ("conv2d_forward", conv_flipped, "kernel is flipped"),
    ("conv2d_forward", conv_without_bias, "bias is missing"),
    ("conv2d_forward", conv_channels_first, "has shape"),
    ("receptive_field", field_ignoring_strides, "if every stride were 1"),
    ("conv2d_backward", conv_backward_flipped, "dx: the kernel is flipped"),
    ("conv2d_backward", conv_backward_first_image_bias, "dbias: only the first image"),
    ("dense_backward", dense_backward_transposed, "transpose of the right shape"),
    ("dense_backward", dense_backward_mean_bias, "dbias: averaged over the batch"),
    ("softmax_cross_entropy_gradient", softmax_gradient_summed, "times what it should be"),
    ("softmax_cross_entropy_gradient", softmax_gradient_backwards, "opposite sign"),
    ("softmax_cross_entropy_gradient", softmax_gradient_unshifted, "exp of a large logit overflows"),
    ("Sigmoid", SigmoidWithInput, "uses the layer's input"),
    ("Sigmoid", SigmoidWithoutDerivative, "missing a factor"),
    ("maxpool_backward", maxpool_spread, "shared out over the whole window"),
    ("avgpool_backward", avgpool_unscaled, "is 4 times what it should be"),
    ("dropout_forward", dropout_unscaled, "not scaled up"),
    ("dropout_forward", dropout_keeps_the_rate, "the rate is the fraction dropped"),
    ("dropout_forward", dropout_global_random, "does not follow `rng`"),
    ("dropout_backward", dropout_backward_without_mask, "the mask is forgotten"),
    ("dropout_backward", dropout_backward_unscaled, "1/(1 - rate)"),
    ("sgd_momentum_step", momentum_as_average, "averages recent gradients"),
    ("sgd_momentum_step", momentum_uphill, "param after step 1"),
    ("adam_step", adam_without_bias_correction, "the first step is"),
    ("train_epoch", epoch_without_the_last_batch, "has 4 batches, the last one smaller"),
    ("train_epoch", epoch_stepping_before_backward, "differs"),
    ("fgsm", fgsm_downhill, "against the loss's gradient"),
    ("fgsm", fgsm_unclipped, "leave [0, 1]"),
]


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_solution_passes_and_the_stub_is_not_written_yet(name):
    assert check(name, getattr(solutions, name)).passed, check(name, getattr(solutions, name))
    verdict = check(name, getattr(stubs, name))
    assert not verdict.passed and verdict.message == "not written yet (it raises NotImplementedError)."


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_library_fallback_passes_its_own_check(name):
    assert check(name, getattr(fallbacks, name)).passed


@pytest.mark.parametrize(("name", "wrong", "words"), WRONG, ids=[f"{n}-{w.__name__}" for n, w, _ in WRONG])
def test_a_plausible_wrong_answer_fails_saying_what_is_wrong(name, wrong, words):
    verdict = check(name, wrong)
    assert not verdict.passed
    assert words in verdict.message, verdict.message
    assert "\n" not in verdict.message and "array(" not in verdict.message  # one sentence, no values dumped


def test_every_exercise_has_a_wrong_answer_tested_and_there_are_at_least_12():
    assert len(exercises.EXERCISES) >= 12
    assert {name for name, _, _ in WRONG} == set(exercises.EXERCISES)


def test_a_crash_in_the_learners_code_is_reported_with_its_line():
    def conv2d_forward(x, kernel, bias):
        height = x.shape[1]
        return x[0, height, 0, 0]  # an index one past the end

    verdict = check("conv2d_forward", conv2d_forward)
    assert not verdict.passed
    assert verdict.message.startswith("raised IndexError: index")
    assert "of conv2d_forward: `return x[0, height, 0, 0]" in verdict.message


def test_attempt_returns_the_learners_function_when_it_passes_else_the_library(capsys, monkeypatch):
    monkeypatch.delenv("HANDDIGIT_SOLUTIONS", raising=False)

    def my_backward(dy, keep, rate):
        return dy * keep / (1 - rate)

    assert exercises.attempt("dropout_backward", my_backward) is my_backward
    assert capsys.readouterr().out.startswith("✓ dropout_backward: matches")
    assert exercises.attempt("dropout_backward", stubs.dropout_backward) is fallbacks.dropout_backward
    out = capsys.readouterr().out
    assert "✗ dropout_backward: not written yet" in out and "use the library's version" in out
    monkeypatch.setenv("HANDDIGIT_SOLUTIONS", "1")
    assert exercises.attempt("dropout_backward", stubs.dropout_backward) is solutions.dropout_backward


def test_an_unknown_exercise_is_named():
    with pytest.raises(KeyError, match="no exercise 'conv3d'"):
        check("conv3d", solutions.conv2d_forward)
