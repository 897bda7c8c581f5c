"""The `handdigit` command as a user runs it: good runs, and bad arguments without tracebacks."""

import json

import numpy as np
import pytest

from .helpers import run_handdigit


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", "--epochs", "0", "--out", "x"], "expected a positive integer"),
        (["train", "--optimizer", "rmsprop", "--out", "x"], "invalid choice: 'rmsprop'"),
        (["train", "--val-split", "1.5", "--out", "x"], "fraction in [0, 1)"),
        (["train", "--lr", "abc", "--out", "x"], "expected a number > 0"),
        (["train"], "one of the arguments --out --resume is required"),
        (["train", "--out", "a", "--resume", "b"], "not allowed with argument"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_get_a_usage_message(arguments, message):
    result = run_handdigit(*arguments)
    assert result.returncode == 2
    assert "usage: handdigit" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_resuming_a_directory_without_a_run_is_one_clear_line(tmp_path):
    result = run_handdigit("train", "--resume", tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"handdigit train: error: {tmp_path}: no checkpoint.npz to resume from (start a new run with --out)"
    )


def test_a_missing_data_directory_is_one_clear_line(tmp_path):
    result = run_handdigit("train", "--out", tmp_path / "run", "--data-dir", tmp_path / "nowhere")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr


def test_a_subset_larger_than_mnist_is_refused(tmp_path, mnist_dir):
    result = run_handdigit("train", "--out", tmp_path / "run", "--subset", "100000", "--data-dir", mnist_dir)
    assert result.returncode == 1 and "larger than the training set" in result.stderr


def test_train_then_evaluate_as_a_user_would(tmp_path, mnist_dir):
    """A small run prints a line per epoch, then `evaluate` reports on its weights with figures."""
    run = tmp_path / "run"
    result = run_handdigit(
        "train", "--epochs", "2", "--subset", "800", "--no-augment", "--out", run, "--data-dir", mnist_dir
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1/2: loss" in result.stderr and "val acc" in result.stderr
    assert "Training: handdigit train --epochs 2" in result.stdout
    again = run_handdigit("train", "--epochs", "2", "--subset", "800", "--out", run, "--data-dir", mnist_dir)
    assert again.returncode == 2 and f"resume it with --resume {run}" in again.stderr
    done = run_handdigit("train", "--resume", run, "--data-dir", mnist_dir)
    assert done.returncode == 0 and "already done" in done.stdout
    changed = run_handdigit("train", "--resume", run, "--batch-size", "64", "--seed", "3", "--no-augment")
    assert changed.returncode == 2 and "Traceback" not in changed.stderr  # the run has --no-augment too:
    assert "options; --batch-size (the run has 128), --seed (the run has 0) cannot change" in changed.stderr
    same = run_handdigit("train", "--resume", run, "--batch-size", "128", "--data-dir", mnist_dir)
    assert same.returncode == 0 and "already done" in same.stdout

    report_dir = tmp_path / "report"
    evaluated = run_handdigit(
        "evaluate", "--weights", run / "best.npz", "--data-dir", mnist_dir, "--out", report_dir
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "Test accuracy" in evaluated.stdout and "precision" in evaluated.stdout
    for name in ("confusion-matrix.png", "misclassified.png", "reliability.png", "metrics.json"):
        assert (report_dir / name).is_file(), name
    as_json = run_handdigit("evaluate", "--weights", run / "best.npz", "--data-dir", mnist_dir, "--json")
    metrics = json.loads(as_json.stdout)
    assert metrics["images"] == 10000 and sum(map(sum, metrics["confusion_matrix"])) == 10000
    assert 0.5 < metrics["accuracy"] < 1.0


def test_evaluate_with_a_damaged_weights_file_is_one_clear_line(tmp_path, mnist_dir):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    result = run_handdigit("evaluate", "--weights", bad, "--data-dir", mnist_dir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("handdigit evaluate: error:") and "not a readable .npz" in result.stderr


def test_predict_prints_each_file_and_goes_on_past_unreadable_ones(tmp_path):
    from PIL import Image

    from handdigit.preprocess import rasterize

    seven = tmp_path / "seven.png"
    Image.fromarray(rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)).save(seven)
    one = tmp_path / "one.jpg"
    Image.fromarray(255 - rasterize([[(140, 40), (140, 240)]], 280, 16)).save(one)  # white on black
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing")
    show = tmp_path / "show"
    result = run_handdigit("predict", seven, broken, one, blank, "--show", show)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{seven}: 7 ") and lines[1].startswith(f"{one}: 1 ")
    assert lines[2] == f"{blank}: no digit"
    assert f"{broken}: cannot read:" in result.stderr and "1 of 4 file(s) could not be read" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in show.iterdir()) == ["000-seven.png", "002-one.png", "003-blank.png"]
    as_json = run_handdigit("predict", "--json", seven, broken)
    first, second = (json.loads(line) for line in as_json.stdout.splitlines())
    assert first["digit"] == 7 and len(first["probabilities"]) == 10 and "error" in second
    ok = run_handdigit("predict", seven)
    assert ok.returncode == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--port", "70000"], "port number"), (["--max-sessions", "0"], "positive integer")],
)
def test_bad_app_options_get_a_usage_message(arguments, message):
    result = run_handdigit("app", *arguments, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_output_locations_are_checked_before_any_work(tmp_path, mnist_dir):
    """A file where a directory is wanted, or a directory inside a file: one line, at once."""
    a_file = tmp_path / "taken"
    a_file.write_text("mine")
    seven = tmp_path / "seven.png"
    from PIL import Image

    from handdigit.preprocess import rasterize

    Image.fromarray(rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)).save(seven)
    for arguments, option in (
        (["train", "--out", a_file, "--data-dir", mnist_dir], "--out"),
        (["train", "--out", a_file / "run", "--data-dir", mnist_dir], "--out"),
        (["predict", seven, "--show", a_file], "--show"),
        (["evaluate", "--out", a_file / "report", "--data-dir", mnist_dir], "--out"),
    ):
        result = run_handdigit(*arguments)
        assert result.returncode == 1, result.stderr
        assert (
            "Traceback" not in result.stderr
            and f"{option} {arguments[arguments.index(option) + 1]}" in result.stderr
        )
        assert "is a file, not a directory" in result.stderr or "cannot write there" in result.stderr
    assert a_file.read_text() == "mine"
    huge = run_handdigit(
        "train", "--out", tmp_path / "run", "--batch-size", "1000000000", "--data-dir", mnist_dir
    )
    assert huge.returncode == 1 and "batch-size must be at most 8,192" in huge.stderr


def test_a_diverging_run_stops_keeps_nothing_false_and_suggests_a_smaller_rate(tmp_path, mnist_dir):
    run = tmp_path / "run"
    result = run_handdigit(
        "train", "--epochs", "2", "--subset", "256", "--lr", "1e30", "--drawn", "0", "--not-digits", "0",
        "--out", run, "--data-dir", mnist_dir,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the loss became NaN or infinite in epoch 1" in result.stderr
    assert "nothing is saved" in result.stderr and "smaller --lr" in result.stderr
    assert not any(run.glob("*.npz"))


def test_ctrl_c_outside_the_training_loop_is_one_line_and_exit_130(monkeypatch, capsys):
    """A resume preparing its data, evaluate, predict: Ctrl-C there ends cleanly, not in a traceback."""
    from handdigit import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_evaluate", interrupted)
    assert cli.main(["evaluate"]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "handdigit evaluate: interrupted; nothing was changed"


def test_evaluate_with_proxies_shows_progress_and_each_proxy_s_calibration_error_and_floor(mnist_dir):
    """Every proxy (digits and not) in the table and the JSON, a digit proxy's calibration error
    beside its floor, and a progress bar on stderr that reaches the last proxy."""
    from handdigit.evaluation.proxies import DIGIT_PROXIES, NONDIGIT_PROXIES

    shown = run_handdigit("evaluate", "--proxies", "4", "--data-dir", mnist_dir)
    assert shown.returncode == 0, shown.stderr
    assert "ECE (floor)" in shown.stdout and "Traceback" not in shown.stderr
    assert all(name in shown.stdout for name in DIGIT_PROXIES + NONDIGIT_PROXIES)
    total = len(DIGIT_PROXIES + NONDIGIT_PROXIES)
    assert "evaluation proxies" in shown.stderr and f"{total}/{total}" in shown.stderr
    as_json = json.loads(
        run_handdigit("evaluate", "--proxies", "4", "--data-dir", mnist_dir, "--json").stdout
    )
    tablet = as_json["proxies"]["tablet-8"]
    assert 0 <= tablet["calibration_error_floor"] <= 1 and 0 <= tablet["expected_calibration_error"] <= 1
    assert "calibration_error_floor" not in as_json["proxies"]["shapes"]
    # the shipped rule averages moved views near its threshold: the JSON names it, the table says
    # how often the gate answered as averaging every input would
    views = as_json["proxies_rule"]["views"]
    assert as_json["proxies_rule"]["threshold"] == views["threshold"] and views["shift"] == 1.5
    assert "that gate answered as averaging every input for" in shown.stdout
