"""Training: the API end to end on a subset, exact resumption after SIGKILL, clean SIGINT."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from handdigit.recognition.head import KERNEL, split_head
from handdigit.training import (
    Callback,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    learning_rate_schedule,
    split_data,
)
from handdigit.util import code_version
from tinycnn import Sequential

from .helpers import REPOSITORY, run_handdigit


class BatchLosses(Callback):
    def __init__(self):
        self.losses = []
        self.running = 0.0

    def on_batch_end(self, step, metrics):
        # metrics["loss"] is a running mean; recover each batch's own loss from it
        total = metrics["loss"] * metrics["images"]
        self.losses.append(total - self.running)
        self.running = total

    def on_epoch_begin(self, epoch, steps):
        self.running = 0.0


def test_a_short_run_learns_and_writes_its_files(tmp_path, mnist):
    """On 1,500 images the loss falls, validation beats chance by far, and every file is written."""
    config = TrainConfig(epochs=3, subset=1500, val_split=0.2, seed=3)
    history = Trainer(config, tmp_path, data=mnist).run()
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > 0.6
    for name in ("checkpoint.npz", "weights.npz", "best.npz", "history.json", "curves.png"):
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "history.json").read_text())
    assert summary["config"] == config.to_dict()
    assert "--subset 1500" in summary["command"] and "--seed 3" in summary["command"]
    assert summary["train_images"] == 1200 and summary["val_images"] == 300
    assert summary["data_sha256"]["t10k-labels-idx1-ubyte"].startswith("ff7bcfd4")
    assert summary["code"] == [code_version()]  # the commit of this checkout (None when installed)
    best = Sequential.load(tmp_path / "best.npz")  # the seed network plus its "not a digit" output
    digits, head = split_head(best)
    assert digits.parameter_count == 2_380_938 and head[KERNEL].shape == (256, 1)


def test_same_seed_same_data_gives_the_same_loss_curve(tmp_path, mnist):
    """Two runs with one seed take identical first steps; another seed does not."""
    curves = []
    for seed, directory in ((5, "a"), (5, "b"), (6, "c")):
        recorder = BatchLosses()
        Trainer(
            TrainConfig(epochs=1, subset=640, val_split=0, seed=seed),
            tmp_path / directory,
            data=mnist,
            callbacks=[recorder],
        ).run()
        curves.append(recorder.losses)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-6)
    assert not np.allclose(curves[0], curves[2])


def test_drawings_made_in_the_first_epochs_order_are_the_ones_made_at_once(mnist):
    """The background drawing, in whatever order the first epoch wants, gives the same data."""
    config = TrainConfig(subset=4000, val_split=0.2, seed=2)
    at_once = split_data(mnist, config)
    at_once.wait_for_training(np.arange(len(at_once.train_labels)))
    at_once.wait_for_validation()
    order = np.random.default_rng(9).permutation(len(at_once.train_labels))
    streamed = split_data(mnist, config, first_epoch_order=order)
    streamed.wait_for_training(order[:128])
    assert streamed.train_images[order[:128]].reshape(128, -1).max(axis=1).min() > 0.2  # all drawn
    streamed.wait_for_training(order)
    streamed.wait_for_validation()
    assert streamed.drawn() and at_once.drawn()
    for field in (
        "train_images",
        "train_labels",
        "val_images",
        "val_labels",
        "val_drawn_images",
        "val_drawn_labels",
    ):
        np.testing.assert_array_equal(getattr(streamed, field), getattr(at_once, field), err_msg=field)


class InterruptAtBatch(Callback):
    """Presses Ctrl-C after the first epoch's first batch, once."""

    def __init__(self):
        self.pressed = False

    def on_batch_end(self, step, metrics):
        if not self.pressed:
            self.pressed = True
            raise KeyboardInterrupt


def test_ctrl_c_while_the_first_epoch_waits_for_drawings_leaves_none_half_made(tmp_path, mnist):
    """Stopped at its first batch, while drawings are still being made: the next run() draws them
    again in full rather than training on blank images."""
    trainer = Trainer(
        TrainConfig(epochs=1, subset=9000, val_split=0.1, seed=4),
        tmp_path,
        data=mnist,
        callbacks=[InterruptAtBatch()],
    )
    with pytest.raises(TrainingInterrupted, match="before the first epoch ended; nothing is saved"):
        trainer.run()
    assert trainer.split is None
    trainer.run()
    drawn = trainer.split.train_images[
        -trainer.split.drawn_train_images - trainer.split.not_digit_train_images :
    ]
    assert trainer.split.drawn() and drawn.reshape(len(drawn), -1).max(axis=1).min() > 0.2


class InterruptAfter(Callback):
    """Presses Ctrl-C (raises KeyboardInterrupt) right after the given epoch is saved."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, record):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_in_process_matches_an_uninterrupted_run(tmp_path, mnist):
    """Interrupted after epoch 1 and resumed: the weights end bit for bit where an uninterrupted run's do."""
    config = TrainConfig(epochs=2, subset=600, val_split=0.2, seed=1)
    Trainer(config, tmp_path / "straight", data=mnist).run()
    with pytest.raises(TrainingInterrupted, match="1 of 2 epochs are saved"):
        Trainer(config, tmp_path / "split", data=mnist, callbacks=[InterruptAfter(1)]).run()
    resumed = Trainer.resume(tmp_path / "split", data=mnist)
    assert resumed.completed_epochs == 1
    resumed.run()
    straight = Sequential.load(tmp_path / "straight" / "weights.npz").get_weights()
    split = Sequential.load(tmp_path / "split" / "weights.npz").get_weights()
    for key in straight:
        assert np.array_equal(straight[key], split[key]), key
    history = json.loads((tmp_path / "split" / "history.json").read_text())
    assert [record["epoch"] for record in history["epochs"]] == [1, 2]
    assert history["code"] == [code_version()]  # resumed on the code it started with: listed once


def test_a_run_resumed_on_other_code_lists_both_versions(tmp_path, mnist):
    config = TrainConfig(epochs=2, subset=600, val_split=0.2, seed=1)
    with pytest.raises(TrainingInterrupted):
        Trainer(config, tmp_path, data=mnist, callbacks=[InterruptAfter(1)]).run()
    history_file = tmp_path / "history.json"
    earlier = {"commit": "0" * 40, "uncommitted_changes": True}
    history_file.write_text(json.dumps({**json.loads(history_file.read_text()), "code": [earlier]}))
    Trainer.resume(tmp_path, data=mnist).run()
    assert json.loads(history_file.read_text())["code"] == [earlier, code_version()]


class PoisonsEpoch(Callback):
    """Makes the network's weights NaN as epoch `epoch` begins, after noting the saved files."""

    def __init__(self, epoch):
        self.epoch, self.saved = epoch, {}

    def on_train_begin(self, trainer):
        self.trainer = trainer

    def on_epoch_begin(self, epoch, steps):
        if epoch == self.epoch:
            out = self.trainer.out_dir
            self.saved = {path.name: path.read_bytes() for path in out.iterdir() if path.suffix == ".npz"}
            self.trainer.model.layers[-1].params["kernel"][0, 0] = np.nan


def test_a_loss_gone_nan_stops_training_and_keeps_the_last_good_epochs_files(tmp_path, mnist):
    """Epoch 2 diverges: TrainingDiverged, and epoch 1's weights, best and checkpoint stay byte for byte;
    the stale temporary file of an earlier killed run is gone."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".tmp-killed.npz").write_bytes(b"half a save")
    poison = PoisonsEpoch(2)
    config = TrainConfig(epochs=2, subset=300, val_split=0.2, drawn=0.0, not_digits=0.0)
    with pytest.raises(TrainingDiverged, match="epoch 2 .*are from epoch 1, the last good one.*smaller --lr"):
        Trainer(config, out, data=mnist, callbacks=[poison]).run()
    assert set(poison.saved) == {"best.npz", "weights.npz", "checkpoint.npz"}
    for name, content in poison.saved.items():
        assert (out / name).read_bytes() == content, name
    assert not list(out.glob(".tmp-*"))
    assert Trainer.resume(out, data=mnist).completed_epochs == 1


def test_saved_files_follow_the_umask(tmp_path):
    from handdigit.util import write_text_atomic
    from tinycnn.weights_file import write_npz_atomic

    previous = os.umask(0o022)
    try:
        write_npz_atomic(tmp_path / "open.npz", {"a": np.zeros(2)})
        write_text_atomic(tmp_path / "open.json", "{}")
        os.umask(0o077)
        write_npz_atomic(tmp_path / "private.npz", {"a": np.zeros(2)})
    finally:
        os.umask(previous)
    assert (tmp_path / "open.npz").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "open.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.npz").stat().st_mode & 0o777 == 0o600


def test_schedules_start_peak_and_end_where_documented():
    """onecycle warms up from peak/25 to the peak, then anneals to peak/1000; cosine ends at 0."""
    config = TrainConfig(epochs=10, learning_rate=0.01, schedule="onecycle")
    schedule = learning_rate_schedule(config, steps_per_epoch=100)
    assert schedule(0) == pytest.approx(0.01 / 25)
    assert max(schedule(step) for step in range(1000)) == pytest.approx(0.01, rel=1e-3)
    assert schedule(1000) == pytest.approx(0.01 / 1000)
    cosine = learning_rate_schedule(TrainConfig(epochs=1, learning_rate=0.5, schedule="cosine"), 10)
    assert cosine(0) == 0.5 and cosine(10) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "changes",
    [
        {"epochs": 0},
        {"optimizer": "rmsprop"},
        {"val_split": 1.0},
        {"learning_rate": -1.0},
        {"schedule": "warm"},
        {"batch_size": 10**9},
    ],
)
def test_bad_configs_are_refused(changes):
    with pytest.raises(ValueError):
        TrainConfig(**changes)


def train_command(out, *extra):
    return [
        sys.executable, "-m", "handdigit", "train", "--subset", "1600", "--val-split", "0.2",
        "--epochs", "4", "--batch-size", "32", "--seed", "2", "--data-dir", str(REPOSITORY.parent / "shared/datasets/mnist"),
        *extra, "--out" if "--resume" not in extra else "", str(out) if "--resume" not in extra else "",
    ]  # fmt: skip


def start(command):
    # Ctrl-C at its default in the child: a test run started as a background job (as by `cmd &` in a
    # script) inherits SIGINT ignored, and a Python started so never raises KeyboardInterrupt.
    return subprocess.Popen(
        [part for part in command if part],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_epochs(directory, count, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = directory / "history.json"
        if history.is_file():
            try:
                if json.loads(history.read_text())["completed_epochs"] >= count:
                    return
            except (ValueError, KeyError):
                pass
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    pytest.fail(f"no checkpoint of epoch {count} within {timeout} s")


def test_a_run_killed_mid_way_resumes_to_the_same_weights(tmp_path, mnist_dir):
    """SIGKILL during epoch 2, then `--resume`: the final weights equal an uninterrupted run's."""
    straight = start(train_command(tmp_path / "straight"))
    assert straight.wait(timeout=600) == 0, straight.communicate()
    killed = start(train_command(tmp_path / "killed"))
    wait_for_epochs(tmp_path / "killed", 1, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert json.loads((tmp_path / "killed" / "history.json").read_text())["completed_epochs"] < 4
    result = run_handdigit("train", "--resume", tmp_path / "killed", "--data-dir", mnist_dir)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout
    expected = Sequential.load(tmp_path / "straight" / "weights.npz").get_weights()
    resumed = Sequential.load(tmp_path / "killed" / "weights.npz").get_weights()
    for key in expected:
        assert np.array_equal(expected[key], resumed[key]), key
    assert not list((tmp_path / "killed").glob(".tmp-*")), "temporary files left behind"


def test_sigint_keeps_the_checkpoint_and_says_how_to_resume(tmp_path):
    """Ctrl-C exits with 130, no traceback, a resume hint, and a loadable checkpoint. (The run is
    given 40 epochs so that it cannot end before the signal; the signal comes right after the
    first checkpoint, often while it is still being written.)"""
    process = start(train_command(tmp_path / "run", "--epochs", "40"))
    wait_for_epochs(tmp_path / "run", 1, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"--resume {tmp_path / 'run'}" in stderr
    trainer = Trainer.resume(
        tmp_path / "run", data=None, data_dir=REPOSITORY.parent / "shared/datasets/mnist"
    )
    assert 1 <= trainer.completed_epochs < 40


def test_a_ctrl_c_during_a_deferred_block_arrives_after_it():
    """Ctrl-C while a checkpoint is written is held back, then raised as KeyboardInterrupt."""
    from handdigit.util import interrupts_deferred

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            finished = True  # the block is not cut short
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finished


def test_a_ctrl_c_that_another_thread_receives_still_waits_for_the_block():
    """The operating system may hand SIGINT to any thread (a BLAS or worker thread); masking it in
    the main thread did not hold it back then, and a checkpoint save was cut short (a half-imported
    matplotlib in CI). Python runs the handler in the main thread: the block still finishes first."""
    from handdigit.util import interrupts_deferred

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started, finish = threading.Event(), threading.Event()
    other = threading.Thread(target=lambda: (started.set(), finish.wait(10)))
    other.start()
    started.wait(10)
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            signal.pthread_kill(other.ident, signal.SIGINT)
            for step in range(10_000):  # many bytecodes: an interrupt raised here would cut the loop
                steps.append(step)
            time.sleep(0.05)
            steps.append("end")
    finally:
        finish.set()
        other.join(10)
        signal.signal(signal.SIGINT, previous)
    assert steps[-1] == "end"
