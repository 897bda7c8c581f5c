"""Training the reference network on MNIST: a Python API that the CLI and the notebooks share.

    config = TrainConfig(epochs=15)
    history = Trainer(config, out_dir="runs/a").run()           # or Trainer.resume("runs/a").run()

What a run writes into its directory (every file atomically, after every epoch):
- `checkpoint.npz`: weights, optimizer state, random-generator states, epoch and history, so that
  `Trainer.resume` continues exactly where the last finished epoch stopped;
- `weights.npz`: the latest weights; `best.npz`: the weights with the best validation accuracy
  (the latest when there is no validation set);
- `history.json`: the config, the command that repeats the run, the code's git commit, data
  checksums, versions, and a record per epoch; `curves.png`: the training curves.

Interrupting (Ctrl-C) raises `TrainingInterrupted` after the last finished epoch's files are safe.
"""

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from handdigit.architecture import DIGITS, build_model
from handdigit.data.drawings import NOT_A_DIGIT
from handdigit.util import check_output_directory, code_version, interrupts_deferred
from tinycnn.weights_file import TEMPORARY_PREFIX, remove_stale_temporaries

OPTIMIZERS = ("sgd", "momentum", "adam", "adadelta")
SCHEDULES = ("constant", "cosine", "onecycle")
REJECTIONS = ("class", "uniform")  # how drawings that are not digits are trained (TrainConfig)
DEFAULT_LEARNING_RATES = {"sgd": 0.05, "momentum": 0.02, "adam": 1e-3, "adadelta": 1.0}
CHECKPOINT = "checkpoint.npz"
LEGACY_STATE_KEY = "__training_state__"  # checkpoints of HandDigit before tinycnn.checkpoint


MAX_BATCH_SIZE = 8192  # 8192 images' activations take about 2 GB


@dataclass
class TrainConfig:
    """Everything that changes the result of a run (all of it is recorded with the run)."""

    epochs: int = 36
    batch_size: int = 128
    learning_rate: float | None = None  # None: the optimizer's default (DEFAULT_LEARNING_RATES)
    optimizer: str = "adam"
    schedule: str = "onecycle"
    val_split: float = 0.05
    seed: int = 0
    subset: int | None = None
    augment: bool = True
    # Synthetic pen drawings (handdigit.data.drawings) added to the training images, as a fraction
    # of the MNIST training images: they teach the network what canvas strokes, tablets sampling
    # few points, coarse scans and extreme pens look like.
    drawn: float = 0.3
    # Drawings that are not digits (letters, shapes, symbols, scribbles), as a fraction of the MNIST
    # training images, so that the network says "not a digit" for them instead of a confident
    # digit. rejection "class": they are an eleventh class, an output of its own beside the
    # digits' (a head in the shipped file); "uniform": the ten digits' answer is trained towards
    # uniform for them (outlier exposure, Hendrycks et al. 2019), with no output of its own.
    not_digits: float = 0.2
    not_digits_weight: float = 0.75  # their loss's weight against a digit's
    rejection: str = "class"

    def __post_init__(self):
        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")

        positive_int("epochs")
        positive_int("batch_size")
        if self.batch_size > MAX_BATCH_SIZE:
            raise ValueError(f"batch-size must be at most {MAX_BATCH_SIZE:,}, got {self.batch_size:,}")
        if self.subset is not None:
            positive_int("subset")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.learning_rate is not None and not (
            isinstance(self.learning_rate, (int, float))
            and math.isfinite(self.learning_rate)
            and self.learning_rate > 0
        ):
            raise ValueError(f"lr must be a number > 0, got {self.learning_rate!r}")
        if not (isinstance(self.val_split, (int, float)) and 0.0 <= self.val_split < 1.0):
            raise ValueError(f"val-split must be a fraction in [0, 1), got {self.val_split!r}")
        if not (isinstance(self.drawn, (int, float)) and 0.0 <= self.drawn <= 1.0):
            raise ValueError(f"drawn must be a fraction in [0, 1], got {self.drawn!r}")
        if not (isinstance(self.not_digits, (int, float)) and 0.0 <= self.not_digits <= 1.0):
            raise ValueError(f"not-digits must be a fraction in [0, 1], got {self.not_digits!r}")
        if not (isinstance(self.not_digits_weight, (int, float)) and 0.0 <= self.not_digits_weight <= 10.0):
            raise ValueError(f"not-digits-weight must be a number in [0, 10], got {self.not_digits_weight!r}")
        if self.rejection not in REJECTIONS:
            raise ValueError(f"rejection must be one of {', '.join(REJECTIONS)}, got {self.rejection!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")

    @property
    def not_a_digit_output(self):
        """Whether the network has an output of its own for "not a digit"."""
        return self.not_digits > 0 and self.rejection == "class"

    @property
    def effective_learning_rate(self):
        return (
            self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATES[self.optimizer]
        )

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def command_line(self, out_dir=None):
        """The `handdigit train` command that repeats this run."""
        parts = [
            "handdigit train",
            f"--epochs {self.epochs}",
            f"--batch-size {self.batch_size}",
            f"--optimizer {self.optimizer}",
            f"--lr {self.effective_learning_rate:g}",
            f"--schedule {self.schedule}",
            f"--val-split {self.val_split:g}",
            f"--drawn {self.drawn:g}",
            f"--not-digits {self.not_digits:g}",
            f"--not-digits-weight {self.not_digits_weight:g}",
            f"--rejection {self.rejection}",
            f"--seed {self.seed}",
        ]
        if self.subset is not None:
            parts.append(f"--subset {self.subset}")
        if not self.augment:
            parts.append("--no-augment")
        if out_dir is not None:
            parts.append(f"--out {out_dir}")
        return " ".join(parts)


def _read_checkpoint_metadata(path):
    """The training state a checkpoint's metadata holds (read before the model is built: its
    configuration says how to build the run)."""
    import zipfile

    from tinycnn import checkpoint
    from tinycnn.errors import WeightsFileError

    try:
        metadata = checkpoint.read_metadata(path)
    except WeightsFileError:
        try:
            with zipfile.ZipFile(path) as archive:
                legacy = f"{LEGACY_STATE_KEY}.npy" in archive.namelist()
        except (OSError, zipfile.BadZipFile):
            legacy = False
        if legacy:
            raise ValueError(
                f"{path} was written by an earlier HandDigit, which this one cannot resume; its weights.npz "
                "and best.npz still load. Start a new run to train further."
            ) from None
        raise
    if not isinstance(metadata, dict) or not isinstance(metadata.get("config"), dict):
        raise WeightsFileError(f"{path}: not a HandDigit training checkpoint")
    return metadata


class TrainingInterrupted(Exception):
    """Ctrl-C during training; `completed_epochs` are safe in `out_dir`'s checkpoint."""

    def __init__(self, out_dir, completed_epochs, total_epochs):
        self.out_dir, self.completed_epochs, self.total_epochs = Path(out_dir), completed_epochs, total_epochs
        if completed_epochs == 0:
            message = f"interrupted before the first epoch ended; nothing is saved in {out_dir} (start the run again)"
        else:
            message = (
                f"interrupted; {completed_epochs} of {total_epochs} epochs are saved in {out_dir}. "
                f"Resume with: handdigit train --resume {out_dir}"
            )
        super().__init__(message)


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; nothing of the diverging epoch was saved."""

    def __init__(self, out_dir, epoch, step, learning_rate, completed_epochs):
        self.out_dir, self.epoch, self.step = Path(out_dir), epoch, step
        kept = (
            f"the files in {out_dir} are from epoch {completed_epochs}, the last good one"
            if completed_epochs
            else f"nothing is saved in {out_dir}"
        )
        super().__init__(
            f"the loss became NaN or infinite in epoch {epoch} (batch {step + 1}) with learning rate "
            f"{learning_rate:.3g}; training stopped and {kept}. Start again with a smaller --lr "
            f"(e.g. {learning_rate / 10:.3g})"
        )


def learning_rate_schedule(config, steps_per_epoch):
    """schedule(step) -> learning rate, for tinycnn's optimizer hook."""
    peak = config.effective_learning_rate
    total = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "constant":
        return lambda step: peak
    if config.schedule == "cosine":
        return lambda step: peak * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    warmup = max(1, int(0.2 * total))  # onecycle: linear warm-up from peak/25, cosine down to peak/1000

    def onecycle(step):
        if step < warmup:
            return peak / 25 + (peak - peak / 25) * step / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return peak / 1000 + (peak - peak / 1000) * 0.5 * (1 + math.cos(math.pi * progress))

    return onecycle


def make_optimizer(config, steps_per_epoch):
    from tinycnn import SGD, Adadelta, Adam

    schedule = learning_rate_schedule(config, steps_per_epoch)
    if config.optimizer == "adam":
        return Adam(learning_rate=schedule)
    if config.optimizer == "adadelta":
        return Adadelta(learning_rate=schedule, rho=0.95, epsilon=1e-7)
    if config.optimizer == "momentum":
        return SGD(learning_rate=schedule, momentum=0.9, nesterov=True)
    return SGD(learning_rate=schedule)


@dataclass
class Split:
    """Training and validation arrays: images (N, 28, 28, 1) float32 in [0, 1], labels (N,) int,
    NOT_A_DIGIT (10) for drawings that are not digits.

    The training arrays hold MNIST's training part followed by the synthetic drawings (digits and
    not digits); the validation set is MNIST's, and `val_drawn_*` are drawings (digits and not
    digits) that training never sees, their digits redrawn from the validation writers only.

    The drawings may still be being made (`drawings`: the background Drawings of training's and
    validation's, or empty): `wait_for_training(index)` and `wait_for_validation()` block until
    the images asked for are there.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    val_drawn_images: np.ndarray
    val_drawn_labels: np.ndarray
    drawn_train_images: int
    not_digit_train_images: int = 0
    drawings: tuple = ()

    def wait_for_training(self, index):
        """Block until the training images at `index` (into train_images) are drawn."""
        if self.drawings:
            first_drawn = len(self.train_labels) - self.drawn_train_images - self.not_digit_train_images
            wanted = index[index >= first_drawn] - first_drawn
            self.drawings[0].wait_for(wanted)

    def wait_for_validation(self):
        """Block until every validation drawing is drawn."""
        if len(self.drawings) > 1:
            self.drawings[1].finished()

    def drawn(self):
        """Whether every drawing is made."""
        return all(drawing.done == len(drawing.labels) for drawing in self.drawings)

    def close(self):
        """Stop any drawing still going on."""
        for drawing in self.drawings:
            drawing.close()


def split_sizes(n_images, config):
    """(MNIST training, MNIST validation, drawn training, drawn validation, not-digit training,
    not-digit validation) image counts."""
    n_images = n_images if config.subset is None else config.subset
    n_val = int(round(n_images * config.val_split))
    n_train = n_images - n_val
    return (
        n_train,
        n_val,
        int(round(n_train * config.drawn)),
        int(round(n_val * config.drawn)),
        int(round(n_train * config.not_digits)),
        int(round(n_val * config.not_digits)),
    )


# The drawings' own random streams, apart from training's: training's, validation's, and the
# calibration's and the feature distance's (handdigit.evaluation.model_card.calibrate_run).
DRAWN_TRAIN_STREAM, DRAWN_VAL_STREAM, DRAWN_CALIBRATION_STREAM, DRAWN_DISTANCE_STREAM = 1, 2, 3, 4


def _mnist_part(mnist, config):
    """(images, labels) of the MNIST training images a run uses, and where validation starts."""
    images, labels = mnist.train_images, mnist.train_labels.astype(np.intp)
    if config.subset is not None:
        if config.subset > len(images):
            raise ValueError(f"subset {config.subset} is larger than the training set ({len(images)} images)")
        images, labels = images[: config.subset], labels[: config.subset]
    cut = split_sizes(len(mnist.train_labels), config)[0]
    if cut < 1:
        raise ValueError("the validation split leaves no training images")
    return images, labels, cut


def validation_drawings(mnist, config):
    """The run's validation drawings (digits redrawn from the validation writers, and drawings that
    are not digits), exactly as training made them: (views (N, 28, 28) float32, labels (N,))."""
    views, labels, _ = _start_validation_drawing(mnist, config).finished()
    return views, labels


def _start_validation_drawing(mnist, config, after=None):
    from handdigit.data.drawings import start_drawing

    images, labels, cut = _mnist_part(mnist, config)
    sizes = split_sizes(len(mnist.train_labels), config)
    return start_drawing(
        sizes[3],
        [config.seed, DRAWN_VAL_STREAM],
        writers=(images[cut:], labels[cut:]),
        nondigits=sizes[5],
        after=after,
    )


def split_data(mnist, config, progress=None, first_epoch_order=None):
    """MNIST (first `subset` images, last `val_split` of them for validation) plus the drawings,
    which are made in the background: the Split's waits say when they are there.

    first_epoch_order: the order in which the first epoch takes the training images (indices into
    the training arrays); the drawings are made in that order, so the first batches need not wait
    for the last drawings. The drawings are the same whatever the order.
    """
    from handdigit.data.drawings import start_drawing

    images, labels, cut = _mnist_part(mnist, config)
    _, _, n_drawn, _, n_not, _ = split_sizes(len(mnist.train_labels), config)
    train_images = np.empty((cut + n_drawn + n_not, 28, 28, 1), np.float32)
    train_images[:cut, ..., 0] = images[:cut]
    train_images[:cut] /= np.float32(255)
    order = None
    if first_epoch_order is not None:
        order = np.asarray(first_epoch_order)
        order = order[order >= cut] - cut
    drawing = start_drawing(
        n_drawn,
        [config.seed, DRAWN_TRAIN_STREAM],
        writers=(images[:cut], labels[:cut]),
        nondigits=n_not,
        progress=progress,
        order=order,
        out=train_images[cut:, :, :, 0],
    )
    # Validation drawings redraw only validation digits: training never sees their writers' shapes.
    # They are drawn after training's, which the first batches wait for.
    val_drawing = _start_validation_drawing(mnist, config, after=drawing)
    val_images = images[cut:].astype(np.float32)[..., None] / np.float32(255)
    return Split(
        train_images,
        np.concatenate([labels[:cut], drawing.labels]),
        val_images,
        labels[cut:],
        val_drawing.views[..., None],
        val_drawing.labels,
        n_drawn,
        n_not,
        (drawing, val_drawing),
    )


class Callback:
    """Hooks a progress display (or a notebook plot) can implement; all optional."""

    def on_data_begin(self, drawings):
        """`drawings` synthetic drawings are being made in the background as training starts."""

    def on_data_progress(self, done):
        """`done` of them are made (called from the drawing thread)."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, epoch, steps):
        pass

    def on_batch_end(self, step, metrics):
        pass

    def on_epoch_end(self, epoch, record):
        pass

    def on_train_end(self, history):
        pass


def evaluate_logits(model, images, labels, batch_size=500):
    """(mean loss, accuracy) of the model's digit outputs (the ten digits' softmax, as the shipped
    classifier answers) in inference mode."""
    from tinycnn import SoftmaxCrossEntropy

    logits = model.predict(images, batch_size=batch_size)[:, :DIGITS]
    loss = SoftmaxCrossEntropy().forward(logits, labels)
    return loss, float(np.mean(logits.argmax(axis=1) == labels))


def rehearse_one_step(config):
    """One training step of a throwaway model on a blank batch, so that Numba compiles (or loads
    from its cache) exactly the kernels, and the variants of them, that training's steps run: a
    fraction of every kernel `tinycnn.warmup` would compile. The run's model, optimizer and random
    streams are untouched."""
    from handdigit.architecture import build_model
    from tinycnn import SoftmaxCrossEntropy

    scratch = build_model(seed=0, not_a_digit_output=config.not_a_digit_output)
    optimizer = make_optimizer(config, steps_per_epoch=1)
    loss_function = SoftmaxCrossEntropy()
    batch = np.zeros((config.batch_size, *scratch.input_shape), scratch.dtype)
    loss_function.forward(scratch.forward(batch, training=True), np.zeros(config.batch_size, np.intp))
    scratch.backward(loss_function.backward(), input_gradient=False)
    optimizer.step(scratch)


def training_targets(labels, not_digit_weight, rejection="uniform"):
    """(targets, weights) for SoftmaxCrossEntropy: a digit's class with weight 1; a drawing that is
    not a digit (label NOT_A_DIGIT) gets weight `not_digit_weight` and, by `rejection`, its own
    class ("class": the network's eleventh output) or the uniform distribution over the ten digits
    ("uniform", outlier exposure: "none of them, equally")."""
    not_digit = labels >= NOT_A_DIGIT
    if not not_digit.any():
        return labels, None
    weights = np.where(not_digit, np.float32(not_digit_weight), np.float32(1.0))
    if rejection == "class":
        return labels, weights
    targets = np.zeros((len(labels), DIGITS), np.float32)
    targets[np.flatnonzero(~not_digit), labels[~not_digit]] = 1.0
    targets[not_digit] = 1.0 / DIGITS
    return targets, weights


def evaluate_drawn_logits(model, images, labels, batch_size=500):
    """{val_drawn_loss, val_drawn_accuracy} on the drawings that are digits, and on those that are
    not: their mean highest digit probability (val_not_digit_confidence; 1/10 would be a perfect
    "none of them") and, for a network with a not-a-digit output, the share it answers
    (val_not_digit_rejected)."""
    from tinycnn import softmax

    is_digit = labels < NOT_A_DIGIT
    record = {}
    if is_digit.any():
        record["val_drawn_loss"], record["val_drawn_accuracy"] = evaluate_logits(
            model, images[is_digit], labels[is_digit], batch_size
        )
    if (~is_digit).any():
        logits = model.predict(images[~is_digit], batch_size=batch_size).astype(np.float64)
        record["val_not_digit_confidence"] = float(softmax(logits[:, :DIGITS]).max(axis=1).mean())
        if logits.shape[1] > DIGITS:
            record["val_not_digit_rejected"] = float(np.mean(logits.argmax(axis=1) == DIGITS))
    return record


def _augmentation_settings():
    from handdigit.data.augment import AugmentConfig

    return AugmentConfig().to_dict()


class Trainer:
    """One training run in `out_dir`: fresh with `Trainer(config, out_dir)`, or `Trainer.resume`."""

    def __init__(self, config, out_dir, data=None, data_dir=None, callbacks=()):
        self.config = config
        self.out_dir = Path(out_dir)
        self.callbacks = list(callbacks)
        self.data_dir = data_dir
        self._mnist = data
        self.model = build_model(seed=config.seed, not_a_digit_output=config.not_a_digit_output)
        self.rng = np.random.default_rng(config.seed)
        self.history = []
        self.completed_epochs = 0
        self.elapsed_seconds = 0.0
        self.best_val_accuracy = -1.0
        self.split = None
        self.optimizer = None
        self.code = [code_version()]  # each version of the code that trained the run, in order

    # --- data -----------------------------------------------------------------------------
    def _prepare(self, fresh=True):
        if self.split is None:
            if self._mnist is None:
                from handdigit.data import load_mnist

                self._mnist = load_mnist(self.data_dir)
            sizes = split_sizes(len(self._mnist.train_labels), self.config)
            for callback in self.callbacks:
                callback.on_data_begin(sizes[2] + sizes[4])

            def progress(done):
                for callback in self.callbacks:
                    callback.on_data_progress(done)

            # The first epoch's order, read ahead from a copy of the run's generator, so that the
            # drawings (made by other processes while training starts) come in the order wanted.
            ahead = np.random.Generator(type(self.rng.bit_generator)())
            ahead.bit_generator.state = self.rng.bit_generator.state
            first_order = ahead.permutation(sizes[0] + sizes[2] + sizes[4]) if fresh else None
            self.split = split_data(self._mnist, self.config, progress, first_order)
            # Meanwhile this process loads (or compiles) the kernels training runs.
            rehearse_one_step(self.config)
        steps = math.ceil(len(self.split.train_labels) / self.config.batch_size)
        if self.optimizer is None:
            self.optimizer = make_optimizer(self.config, steps)
        return steps

    # --- resuming -------------------------------------------------------------------------
    @classmethod
    def resume(cls, out_dir, epochs=None, data=None, data_dir=None, callbacks=()):
        """Continue the run saved in `out_dir` (optionally to a new total of `epochs`)."""
        from tinycnn import checkpoint

        path = Path(out_dir) / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"{out_dir}: no {CHECKPOINT} to resume from (start a new run with --out)")
        config = _read_checkpoint_metadata(path)["config"]
        config = TrainConfig.from_dict({**config, **({"epochs": epochs} if epochs else {})})
        trainer = cls(config, out_dir, data=data, data_dir=data_dir, callbacks=callbacks)
        trainer._prepare(fresh=False)
        state = checkpoint.load(path, trainer.model, trainer.optimizer, generators={"batches": trainer.rng})
        trainer.history = state["history"]
        trainer.completed_epochs = state["completed_epochs"]
        trainer.elapsed_seconds = state["elapsed_seconds"]
        trainer.best_val_accuracy = state["best_val_accuracy"]
        trainer.code = _earlier_code(Path(out_dir) / "history.json") + trainer.code
        if len(trainer.code) > 1 and trainer.code[-1] == trainer.code[-2]:
            trainer.code.pop()  # resumed on the code it started with
        return trainer

    # --- the loop -------------------------------------------------------------------------
    def run(self):
        """Train until `config.epochs` are done; returns the history (one dict per epoch)."""
        from tinycnn import SoftmaxCrossEntropy

        loss_function = SoftmaxCrossEntropy()
        try:
            check_output_directory(self.out_dir, "--out")
            remove_stale_temporaries(self.out_dir)  # of a run killed while it saved
            steps = self._prepare()
            for callback in self.callbacks:
                callback.on_train_begin(self)
            for epoch in range(self.completed_epochs + 1, self.config.epochs + 1):
                started = time.perf_counter()
                train_loss, train_accuracy = self._train_one_epoch(epoch, steps, loss_function)
                train_seconds = time.perf_counter() - started
                if not all(
                    np.isfinite(value).all() for layer in self.model.layers for value in layer.params.values()
                ):
                    raise TrainingDiverged(
                        self.out_dir,
                        epoch,
                        steps - 1,
                        self.optimizer.current_learning_rate(),
                        self.completed_epochs,
                    )
                record = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_accuracy": train_accuracy,
                    "learning_rate": self.optimizer.current_learning_rate(),
                    "train_seconds": train_seconds,
                }
                if len(self.split.val_labels):
                    record["val_loss"], record["val_accuracy"] = evaluate_logits(
                        self.model, self.split.val_images, self.split.val_labels
                    )
                if len(self.split.val_drawn_labels):
                    self.split.wait_for_validation()
                    record.update(
                        evaluate_drawn_logits(
                            self.model, self.split.val_drawn_images, self.split.val_drawn_labels
                        )
                    )
                record["epoch_seconds"] = time.perf_counter() - started
                self.elapsed_seconds += record["epoch_seconds"]
                self.history.append(record)
                self.completed_epochs = epoch
                with interrupts_deferred():
                    self._save(record)
                for callback in self.callbacks:
                    callback.on_epoch_end(epoch, record)
        except KeyboardInterrupt:
            raise TrainingInterrupted(self.out_dir, self.completed_epochs, self.config.epochs) from None
        finally:
            if self.split is not None and not self.split.drawn():  # stopped early: run() draws afresh
                self.split.close()
                self.split = None
        for callback in self.callbacks:
            callback.on_train_end(self.history)
        return self.history

    def _train_one_epoch(self, epoch, steps, loss_function):
        from handdigit.data.augment import augment_batch

        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, steps)
        images, labels = self.split.train_images, self.split.train_labels
        order = self.rng.permutation(len(labels))
        total_loss = total_correct = seen = digits_seen = 0
        for step in range(steps):
            index = order[step * self.config.batch_size : (step + 1) * self.config.batch_size]
            self.split.wait_for_training(index)
            batch = images[index]
            if self.config.augment:
                batch = augment_batch(batch[..., 0], self.rng)[..., None]
            logits = self.model.forward(batch, training=True)
            targets, weights = training_targets(
                labels[index], self.config.not_digits_weight, self.config.rejection
            )
            loss = loss_function.forward(logits, targets, weights)
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    self.out_dir, epoch, step, self.optimizer.current_learning_rate(), self.completed_epochs
                )
            self.model.backward(loss_function.backward(), input_gradient=False)
            self.optimizer.step(self.model)
            is_digit = labels[index] < NOT_A_DIGIT
            total_correct += int(np.sum(logits[is_digit, :DIGITS].argmax(axis=1) == labels[index][is_digit]))
            total_loss += loss * len(index)
            seen += len(index)
            digits_seen += int(is_digit.sum())
            metrics = {
                "loss": total_loss / seen,
                "accuracy": total_correct / max(digits_seen, 1),
                "images": seen,
            }
            for callback in self.callbacks:
                callback.on_batch_end(step, metrics)
        return total_loss / seen, total_correct / max(digits_seen, 1)

    # --- files ----------------------------------------------------------------------------
    def _save(self, record):
        """Write the epoch's weights, best weights (if better) and checkpoint beside their final
        names, then rename them in one quick step: the files of one epoch move together, and a
        run killed while writing leaves only `.tmp-*` files (removed by the next run)."""
        from tinycnn import checkpoint

        staged = []

        def stage(name):
            staged.append((self.out_dir / f"{TEMPORARY_PREFIX}stage-{name}", self.out_dir / name))
            return staged[-1][0]

        score = record.get("val_accuracy")
        if score is None or score > self.best_val_accuracy:  # without validation, the latest is best
            self.best_val_accuracy = score if score is not None else self.best_val_accuracy
            self.model.save(stage("best.npz"))
        self.model.save(stage("weights.npz"))
        state = {
            "config": self.config.to_dict(),
            "completed_epochs": self.completed_epochs,
            "elapsed_seconds": self.elapsed_seconds,
            "best_val_accuracy": self.best_val_accuracy,
            "history": self.history,
        }
        checkpoint.save(
            stage(CHECKPOINT),
            self.model,
            self.optimizer,
            generators={"batches": self.rng},
            metadata=state,
        )
        for temporary, final in staged:
            os.replace(temporary, final)
        self._write_history()

    def summary(self):
        """What history.json holds: how to repeat the run, its data, and every epoch."""
        import numba

        from handdigit.data import FILES

        return {
            "config": self.config.to_dict(),
            "augmentation": _augmentation_settings() if self.config.augment else None,
            "command": self.config.command_line(self.out_dir),
            "data_sha256": dict(FILES),
            "train_images": int(
                len(self.split.train_labels)
                - self.split.drawn_train_images
                - self.split.not_digit_train_images
            ),  # MNIST's
            "val_images": int(len(self.split.val_labels)),
            "drawn_train_images": self.split.drawn_train_images,
            "not_digit_train_images": self.split.not_digit_train_images,
            "val_drawn_images": int(len(self.split.val_drawn_labels)),
            "completed_epochs": self.completed_epochs,
            "elapsed_seconds": self.elapsed_seconds,
            "best_val_accuracy": self.best_val_accuracy if len(self.split.val_labels) else None,
            "code": self.code,
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "numba": numba.__version__,
            },
            "epochs": self.history,
        }

    def _write_history(self):
        from handdigit.plots import plot_training_curves
        from handdigit.util import write_text_atomic

        write_text_atomic(self.out_dir / "history.json", json.dumps(self.summary(), indent=2) + "\n")
        plot_training_curves(self.history, self.out_dir / "curves.png")


def _earlier_code(history_file):
    """The code versions a resumed run's history.json lists ([] if it lists none or is unreadable)."""
    try:
        code = json.loads(Path(history_file).read_text()).get("code", [])
    except (OSError, ValueError, AttributeError):
        return []
    return code if isinstance(code, list) else []
