"""Fooling the network: the smallest change to a digit's 28x28 view that makes it answer another
digit, found with the network's own backward pass.

    attack = recognizer.fool(prediction, method="iterative")   # or fool(recognizer, prediction)
    attack.image, attack.change            # (28, 28) in [0, 1], and image - prediction.input28
    attack.epsilon, attack.l2, attack.linf  # the budget that sufficed, the change's sizes
    attack.prediction                       # what the network says of attack.image (None: not fooled)

FGSM (the fast gradient sign method, Goodfellow et al. 2015) moves every pixel by epsilon along
the sign of the loss's gradient, in one step; the iterative attack (projected gradient descent,
Madry et al. 2018) takes ten smaller steps, staying within epsilon of the original. Both try the
budgets in EPSILONS from the smallest and stop at the first that changes the answer.
"""

from dataclasses import dataclass

import numpy as np

EPSILONS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)
METHODS = ("fgsm", "iterative")
STEPS = 10


@dataclass(frozen=True)
class Attack:
    method: str
    image: np.ndarray  # (28, 28) float32 in [0, 1]: the changed view
    change: np.ndarray  # image - the original view
    epsilon: float  # the largest change allowed per pixel
    prediction: object  # the Recognizer's Prediction for `image`; None when nothing fooled it

    @property
    def l2(self):
        return float(np.linalg.norm(self.change))

    @property
    def linf(self):
        return float(np.abs(self.change).max())

    @property
    def fooled(self):
        return self.prediction is not None


def _loss_gradient(model, views, label):
    """d(cross-entropy of the ten digits' logits for `label`)/d(views), views (N, 28, 28, 1)."""
    from tinycnn import SoftmaxCrossEntropy

    logits = model.forward(views)
    loss = SoftmaxCrossEntropy()
    loss.forward(logits[:, :10], np.full(len(views), label))
    dlogits = np.zeros_like(logits)
    dlogits[:, :10] = loss.backward()
    return model.backward(dlogits)


def _attacked(model, view, label, epsilon, method):
    original = view[None, :, :, None].astype(np.float32)
    if method == "fgsm":
        step = np.sign(_loss_gradient(model, original, label))
        return np.clip(original + epsilon * step, 0, 1)[0, :, :, 0]
    image = original.copy()
    for _ in range(STEPS):
        image = image + 2.5 * epsilon / STEPS * np.sign(_loss_gradient(model, image, label))
        image = np.clip(np.clip(image, original - epsilon, original + epsilon), 0, 1)
    return image[0, :, :, 0]


def fool(recognizer, prediction, method="iterative", epsilons=EPSILONS):
    """The Attack with the smallest epsilon in `epsilons` that changes `prediction`'s digit (the
    Prediction of a drawing, whose `input28` is attacked); an Attack with prediction None, at the
    largest epsilon, when none does."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if prediction is None or prediction.digit is None:
        raise ValueError("there is no digit to fool: draw one first")
    view = prediction.input28.astype(np.float32)
    for epsilon in epsilons:
        image = _attacked(recognizer.model, view, prediction.digit, epsilon, method).astype(np.float32)
        answer = recognizer.predict_prepared(image)
        if answer.digit != prediction.digit:
            return Attack(method, image, image - view, float(epsilon), answer)
    return Attack(method, image, image - view, float(epsilons[-1]), None)
