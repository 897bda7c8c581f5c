"""The shipped weights: they load, they meet the targets on the test set, the card tells the truth,
and they go into the built package."""

import hashlib
import json
import subprocess
import sys
import zipfile

import pytest

from handdigit.evaluation import evaluate_weights
from handdigit.resources import MODEL_CARD, SHIPPED_WEIGHTS, shipped_weights_path, weights_directory

from .helpers import REPOSITORY


@pytest.fixture(scope="module")
def report(mnist):
    return evaluate_weights(mnist=mnist)


def test_shipped_weights_reach_the_targets_on_the_test_set(report):
    """At least 99.5% test accuracy and a test loss of at most 0.02 (the training issue's targets)."""
    assert report["weights"] == str(shipped_weights_path())
    assert report["accuracy"] >= 0.995, report["accuracy"]
    assert report["loss"] <= 0.02, report["loss"]


def test_the_model_card_matches_the_weights_and_the_measurement(report):
    card = json.loads((weights_directory() / MODEL_CARD).read_text())
    assert card["weights_sha256"] == hashlib.sha256(shipped_weights_path().read_bytes()).hexdigest()
    assert card["test"]["accuracy"] == pytest.approx(report["accuracy"], abs=1e-9)
    assert card["test"]["loss"] == pytest.approx(report["loss"], rel=1e-4)
    assert card["parameters"] == 2_380_938
    assert card["command"].startswith("handdigit train")
    for figure in card["figures"].values():
        assert (weights_directory() / figure).is_file(), figure
    assert (weights_directory() / "MODEL_CARD.md").read_text().count(f"{report['accuracy']:.2%}") >= 1


def test_the_model_card_shows_what_the_weights_say_of_the_first_drawings():
    """The card's table of what people draw first (an L, a star, an A at the pad's pens) is what the
    shipped weights answer now."""
    from handdigit.evaluation.first_drawings import check_first_drawings
    from handdigit.recognition.recognizer import Recognizer

    card = json.loads((weights_directory() / MODEL_CARD).read_text())
    measured = check_first_drawings(Recognizer.load())
    assert card["first_drawings"]["pens"] == measured["pens"]
    assert card["first_drawings"]["flagged"] == pytest.approx(measured["flagged"])
    for name, entries in measured["drawings"].items():
        shown = card["first_drawings"]["drawings"][name]
        assert [(e["not_a_digit"], e["digit"]) for e in shown] == [
            (e["not_a_digit"], e["digit"]) for e in entries
        ]
    assert "### What people draw first" in (weights_directory() / "MODEL_CARD.md").read_text()


def test_the_card_names_the_kinds_of_non_digits_that_pass_for_digits_most():
    """Each non-digit proxy's row ends with its least rejected kinds, as its figures say, typed
    symbols escaped so that none breaks the table."""
    from handdigit.evaluation.model_card import _markdown_escaped
    from handdigit.evaluation.proxies import NONDIGIT_PROXIES, least_rejected

    card = json.loads((weights_directory() / MODEL_CARD).read_text())
    text = (weights_directory() / "MODEL_CARD.md").read_text()
    for name in NONDIGIT_PROXIES:
        kinds = least_rejected(card["proxies"]["proxies"][name])
        assert len(kinds) == 3, name
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        shown = ", ".join(f"{_markdown_escaped(kind)}: {share:.0%}" for kind, share in kinds)
        assert row.endswith(f"| {shown} |"), (row, shown)
    assert _markdown_escaped("|: 5%, *: 1%, pine-tree") == "\\|: 5%, \\*: 1%, pine\\-tree"


def test_the_shipped_rule_averages_moved_views_and_its_gate_answers_as_the_full_average(mnist):
    """The shipped rule reads the views (handdigit.recognition.views); on the card's proxies the gate
    (views only near the threshold) answered as averaging every input for all but 1 in 1,000, and
    it does so now on fresh drawings of the kinds nearest the threshold; the card says so."""
    import numpy as np

    from handdigit.evaluation.proxies import make_proxy
    from handdigit.recognition.recognizer import Recognizer

    recognizer = Recognizer.load()
    calibration = recognizer.calibration
    assert calibration.views is not None and calibration.views.shift == 1.5
    assert calibration.rule_threshold == calibration.views.threshold != calibration.threshold
    card = json.loads((weights_directory() / MODEL_CARD).read_text())
    entries = card["proxies"]["proxies"].values()
    assert sum(entry["gate_disagreements"] for entry in entries) <= 0.001 * sum(
        entry["images"] for entry in entries
    )
    for name in ("tablet-8", "hershey-letters", "pictograms"):
        images = make_proxy(name, 60, 99, mnist)[0]
        views = np.stack([view for view in map(recognizer.preprocess, images) if view is not None])
        logits, distances = recognizer.outputs(views)
        gated = recognizer.rule_scores(views, logits, distances) < calibration.rule_threshold
        full = recognizer.rule_scores(views, logits, distances, gate=False) < calibration.rule_threshold
        assert (gated == full).all(), name
    text = (weights_directory() / "MODEL_CARD.md").read_text()
    assert f"compare it with **{calibration.views.threshold:.4g}**" in text
    assert f"within **{calibration.views.margin:.4g}**" in text


def test_the_built_package_contains_the_weights_and_the_card(tmp_path):
    """`pip install .` gets the weights: the wheel built from the checkout carries them."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPOSITORY),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("handdigit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f"handdigit/weights/{SHIPPED_WEIGHTS}" in names
    assert f"handdigit/weights/{MODEL_CARD}" in names
    assert {"tinycnn/kernels/convolution.py", "tinycnn/engine/fast.py"} <= names


def test_a_checkout_reads_its_own_weights_whatever_the_editable_install_points_to():
    """A second checkout (a git worktree) run with its code on PYTHONPATH must test its own
    weights, not those of the checkout the editable install was made from."""
    assert weights_directory() == REPOSITORY / "weights"
    assert shipped_weights_path() == REPOSITORY / "weights" / SHIPPED_WEIGHTS
