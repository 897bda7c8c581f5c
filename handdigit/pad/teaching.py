"""Teaching the pad your handwriting, in plain Python (the pad's widgets only show it).

    teacher = Teacher(PersonalStore.in_user_directory(), shipped_recognizer, load_replay)
    teacher.recognizer            # what the pad answers with: the taught network if there is one
    teacher.correct(image, 7)     # "that was a 7": the drawing joins your personal set
    report = teacher.teach()      # a new network from the shipped one and all your examples
    teacher.reset()               # back to the shipped weights; your examples stay

Teaching always starts from the base network (the shipped weights) with the whole personal set,
never from the last taught network: teaching twice is not fine-tuning twice, so nothing drifts.
The report says how the pad read your examples before and after, and how it reads a fixed sample
of MNIST test digits before and after (the forgetting meter: Recognizer.learn mixes MNIST replay
into every batch so that this stays put).
"""

import hashlib
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np

from handdigit.recognition import learning

FORGETTING_SAMPLE = 1_000  # MNIST test digits, always the same ones
FORGETTING_SEED = 2026


class TeachingError(RuntimeError):
    """Teaching cannot start (no examples, no MNIST for the replay); the message says why."""


@dataclass(frozen=True)
class TeachingReport:
    """What one teaching did: your examples read right before and after (fractions), the MNIST
    sample read right before and after, how many examples, steps and seconds."""

    examples: int
    before: float
    after: float
    mnist_before: float
    mnist_after: float
    steps: int
    seconds: float

    @property
    def forgetting(self):
        """Points of MNIST accuracy lost (negative: gained)."""
        return 100 * (self.mnist_before - self.mnist_after)


class Teacher:
    """The personal set, the base network and the one the pad answers with."""

    def __init__(self, store, base, load_mnist, keep_taught=True):
        """store: a PersonalStore; base: the Recognizer teaching starts from; load_mnist: a
        function returning handdigit.data.Mnist (the replay and the forgetting sample);
        keep_taught: keep the taught weights in the store (False: in this Teacher only, for a base
        other than the shipped weights, which the stored ones would not match)."""
        self.store = store
        self.keep_taught = keep_taught
        self.base = base
        self.base_id = _sha256(base.weights_path)
        self._load_mnist = load_mnist
        self._mnist = None
        self._sample_scores = weakref.WeakKeyDictionary()  # recognizer: MNIST-sample accuracy
        self.recognizer = base
        self.taught = False
        self.last_report = None
        self._lock = threading.Lock()  # one teaching at a time

    def restore(self):
        """Answer with the weights taught before (e.g. before a restart of the app), if any; a file
        that cannot be used is left alone and the shipped weights answer. Returns a sentence for the
        pad's status when they could not be used, else None."""
        if not self.keep_taught:
            return None
        try:
            taught = self.store.load_taught(self.base_id)
        except Exception as error:  # damaged, foreign, or taught from older weights: keep the shipped ones
            return f"Your taught weights were not loaded ({error}); the shipped ones answer"
        if taught is not None:
            self.recognizer, self.taught = taught, True
        return None

    def correct(self, image, label):
        """Keep `image` ((H, W) uint8, paper white) as an example of `label`; returns the set's size."""
        return self.store.add(image, label)

    def teach(self, progress=None, steps=None):
        """Teach a new network from the base with every example; the pad answers with it from now
        on and it is kept (PersonalStore.save_taught). `progress(step, steps)` is called as it
        goes. Returns a TeachingReport; TeachingError when it cannot start."""
        if not self._lock.acquire(blocking=False):
            raise TeachingError("Teaching is already running.")
        try:
            images, labels = self.store.examples()
            if len(labels) == 0:
                raise TeachingError("Correct a drawing first: click the digit it really is.")
            mnist = self._replay()
            before = self.personal_accuracy(self.recognizer, images, labels)
            mnist_before = self.mnist_accuracy(self.recognizer)
            steps = learning.DEFAULT_STEPS if steps is None else steps
            start = time.perf_counter()
            try:
                taught = self.base.learn(images, labels, steps=steps, mnist=mnist, progress=progress)
            except ValueError as error:  # an example it cannot use (a blank one put there by hand)
                raise TeachingError(f"Teaching cannot use your examples: {error}") from error
            seconds = time.perf_counter() - start
            report = TeachingReport(
                examples=len(labels),
                before=before,
                after=self.personal_accuracy(taught, images, labels),
                mnist_before=mnist_before,
                mnist_after=self.mnist_accuracy(taught),
                steps=steps,
                seconds=seconds,
            )
            if self.keep_taught:
                self.store.save_taught(taught, self.base_id)
            self.recognizer, self.taught, self.last_report = taught, True, report
            return report
        finally:
            self._lock.release()

    def reset(self):
        """Answer with the base network again; the taught weights are removed, the examples stay."""
        if self.keep_taught:
            self.store.forget_taught()
        self.recognizer, self.taught, self.last_report = self.base, False, None

    @staticmethod
    def personal_accuracy(recognizer, images, labels):
        predictions = recognizer.predict_many(images)
        return float(np.mean([p.digit == label for p, label in zip(predictions, labels, strict=True)]))

    def mnist_accuracy(self, recognizer):
        """Accuracy on the fixed sample of MNIST test digits (the forgetting meter)."""
        if recognizer not in self._sample_scores:
            mnist = self._replay()
            chosen = np.random.default_rng(FORGETTING_SEED).choice(
                len(mnist.test_labels), FORGETTING_SAMPLE, replace=False
            )
            probabilities = recognizer.predict_proba(mnist.test_images[chosen].astype(np.float32) / 255)
            digits = probabilities.argmax(axis=1)
            self._sample_scores[recognizer] = float(np.mean(digits == mnist.test_labels[chosen]))
        return self._sample_scores[recognizer]

    def _replay(self):
        if self._mnist is None:
            try:
                self._mnist = self._load_mnist()
            except Exception as error:
                raise TeachingError(f"Teaching needs MNIST for replay: {error}") from error
        return self._mnist


def _sha256(path):
    """The SHA-256 of the weights file teaching starts from ("" for weights not from a file)."""
    if path is None or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()
