"""The model card of the shipped weights: what they are, how they were made, how good they are.

    python -m handdigit.model_card RUN_DIR [--data-dir DIR]

takes a finished training run (its final `weights.npz`, or `best.npz` with `--pick best`, and
`history.json`), evaluates it on the MNIST test set, and writes into `weights/`: the weights (`handdigit-cnn.npz`), `model-card.json` for programs,
`MODEL_CARD.md` for people, and the figures (training curves, confusion matrix, reliability
diagram, misclassified digits). Rerun it whenever the shipped weights are retrained.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from handdigit.evaluation.first_drawings import first_drawings_markdown
from handdigit.resources import MODEL_CARD, SHIPPED_WEIGHTS
from handdigit.util import write_text_atomic

REPOSITORY_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build_card(
    run_dir, report, weights_path, drawn=None, pick="final", calibration=None, proxies=None, first_drawings=None
):  # fmt: skip
    run = json.loads((Path(run_dir) / "history.json").read_text())
    epochs = run["epochs"]
    best = max(epochs, key=lambda record: record.get("val_accuracy", 0.0))
    shipped = epochs[-1] if pick == "final" else best
    config = run["config"]
    has_head = config.get("not_digits", 0) > 0 and config.get("rejection", "uniform") == "class"
    return {
        "name": "handdigit-cnn",
        "architecture": "Conv2D(32,3x3)-ReLU-Conv2D(64,3x3)-ReLU-MaxPool(2x2)-Dropout(0.25)-Flatten-"
        "Dense(256)-ReLU-Dropout(0.5)-Dense(10), logits out",
        "parameters": 2_380_938,
        "not_a_digit_head": (
            {
                "what": "an eleventh output of the last Dense layer, 'not a digit', trained with the network "
                "on drawings that are not digits as a class of their own",
                "parameters": 257,
                "entries": [
                    "extra/handdigit.not_a_digit.kernel (256, 1)",
                    "extra/handdigit.not_a_digit.bias (1,)",
                ],
            }
            if has_head
            else None
        ),
        "weights_file": SHIPPED_WEIGHTS,
        "weights_sha256": _sha256(weights_path),
        "command": run["command"],
        "code": run.get("code", []),
        "config": run["config"],
        "data": {"dataset": "MNIST", "sha256_of_decompressed_idx": run["data_sha256"]},
        # MNIST's own training images (the subset, less the validation images), drawings apart.
        "train_images": (run["config"].get("subset") or 60_000) - run["val_images"],
        "val_images": run["val_images"],
        "drawn_train_images": run.get("drawn_train_images", 0),
        "epochs": run["completed_epochs"],
        "best_epoch": best["epoch"],
        "shipped_epoch": shipped["epoch"],
        "picked": pick,
        "wall_time_seconds": round(run["elapsed_seconds"], 1),
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), **run["versions"]},
        "validation": {"accuracy": shipped.get("val_accuracy"), "loss": shipped.get("val_loss")},
        "test": {
            "images": report["images"],
            "accuracy": report["accuracy"],
            "loss": report["loss"],
            "errors": report["errors"],
            "expected_calibration_error": report["expected_calibration_error"],
            "precision": report["precision"],
            "recall": report["recall"],
            "confusion_matrix": report["confusion_matrix"],
        },
        "drawn": drawn,
        "calibration": json.loads(calibration.to_json()) if calibration is not None else None,
        "proxies": _proxy_summary(proxies),
        "first_drawings": first_drawings,
        "not_digit_train_images": run.get("not_digit_train_images", 0),
        "figures": {
            "training_curves": "curves.png",
            "confusion_matrix": "confusion-matrix.png",
            "reliability": "reliability.png",
            "misclassified": "misclassified.png",
            **({"not_a_digit": "not-a-digit.png"} if proxies is not None else {}),
        },
        "created": time.strftime("%Y-%m-%d"),
    }


def _proxy_summary(report):
    """The proxies' figures without the per-input scores."""
    if report is None:
        return None
    return {
        "count": report["count"],
        "seed": report["seed"],
        "proxies": {
            name: {key: value for key, value in entry.items() if key != "scores"}
            for name, entry in report["proxies"].items()
        },
    }


def _markdown_escaped(text):
    """`text` with Markdown's special characters backslash-escaped, shown as typed."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~])", r"\\\1", text)


def _views_markdown(rule):
    """The card's lines on the rule's score averaged over moved views (none without them)."""
    views, fitted = rule.get("views"), rule.get("views_fitted", {})
    if not views:
        return []
    flagged = fitted.get("validation_false_alarms", {})
    worst = f"{max(flagged.values()):.1%}" if flagged else "?"
    rejected = fitted.get("validation_rejected")
    share = fitted.get("inputs_within_margin")
    return [
        f"| {rule['score']}, mean of 5 views (**the rule**) | {views['threshold']:.4g} | {worst} | "
        + (f"{rejected:.1%} |" if rejected is not None else "? |"),
        "",
        f"Predictions average that score over the view and four copies moved by {views['shift']:g} pixels (down,",
        f"up, right, left) and compare it with **{views['threshold']:.4g}** ({fitted.get('threshold_rule', 'fitted on validation data')}).",
        f"The network's five passes take about three times one, so only an input whose own score lies within **{views['margin']:.4g}**",
        f"of that threshold gets them ({fitted.get('margin_rule', 'the margin')}"
        + (f"; {share:.1%} of them lie that close" if share is not None else "")
        + "): farther away, the average crossed it for none of them (`handdigit.recognition.views`). The",
        f"one view's threshold, {rule['threshold']:.4g}, stays for the pieces the number reader cuts out of a number.",
    ]


def _calibration_markdown(card):
    from handdigit.evaluation.proxies import weakest_text

    entry = card.get("calibration")
    if not entry:
        return ""
    rule = entry.get("not_a_digit")
    lines = [
        '## Calibration and "not a digit"',
        "",
        f"Probabilities are softmax(logits / T) with **T = {entry['temperature']:.3f}**, fitted to minimise the",
        "negative log-likelihood on the validation digits (MNIST's validation images and drawings redrawn",
        "from the validation writers), each group of them weighing the same.",
    ]
    if rule:
        alternatives = rule.get("alternatives", {})
        lines += [
            "",
            f"An input is **not a digit** when its `{rule['score']}` score"
            + (
                f", averaged over five moved views near the threshold, is below **{rule['views']['threshold']:.4g}**"
                f" ({rule['threshold']:.4g} for one view, as in the table):"
                if rule.get("views")
                else f" is below **{rule['threshold']:.4g}**:"
            ),
            f"{rule.get('threshold_rule', 'the threshold chosen on validation data')}. Fitted on",
            f"{rule.get('fitted_on', 'validation data')}; {_rule_choice(rule)}:",
            "",
            "| score | threshold | validation digits flagged (worst group) | validation non-digits flagged |",
            "|---|---|---|---|",
        ]
        for score, figures in alternatives.items():
            flagged = figures["validation_false_alarms"]
            worst = max(flagged.values()) if isinstance(flagged, dict) else flagged
            lines.append(
                f"| {score} | {figures['threshold']:.4g} | {worst:.1%} | {figures['validation_rejected']:.1%} |"
            )
        lines += _views_markdown(rule)
    proxies = card.get("proxies")
    if proxies:
        lines += [
            "",
            f"### Proxies ({proxies['count']} inputs each; `handdigit evaluate --proxies {proxies['count']}`)",
            "",
            "Made by generators and writers training never used (`handdigit/evaluation/proxies.py` says how);",
            "`styles` resembles training and is the optimistic one. The calibration error's floor is",
            "what a perfectly calibrated model would measure with the same confidences on as many",
            "inputs (`handdigit.evaluation.metrics.calibration_error_floor`): a finite sample never shows 0.",
            "",
            '| proxy | kind | accuracy | flagged "not a digit" | calibration error (floor) | weakest digits / least rejected kinds |',
            "|---|---|---|---|---|---|",
        ]
        for name, figures in proxies["proxies"].items():
            accuracy = f"{figures['accuracy']:.1%}" if "accuracy" in figures else ""
            ece = (
                f"{figures['expected_calibration_error']:.1%} ({figures['calibration_error_floor']:.1%})"
                if "expected_calibration_error" in figures
                else ""
            )
            weakest = _markdown_escaped(weakest_text(figures))  # kinds may be typed symbols: * | _ ...
            lines.append(
                f"| {name} | {figures['kind']} | {accuracy} | {figures['flagged_not_a_digit']:.1%} | {ece} | {weakest} |"
            )
        lines += ["", "![not a digit: rejection and false alarms against the threshold](not-a-digit.png)"]
    return "\n".join(lines) + "\n"


def _code_markdown(code):
    """' on commit `abc1234`' (and each later one a resumed run was trained on), or '' when the
    run's history does not say which code trained it."""
    known = [version for version in code or [] if version]
    if not known:
        return ""
    commits = [
        f"`{version['commit'][:12]}`"
        + (" with uncommitted changes" if version["uncommitted_changes"] else "")
        for version in known
    ]
    unknown = ", and code from no git checkout" if len(known) < len(code) else ""
    return f" on commit {', then '.join(commits)}{unknown}"


def _rule_choice(rule):
    if rule["score"] != "odds-and-distance":
        return "the score that rejects most non-digits at that rule wins"
    return (
        f"the score is the digit odds less {rule['distance_weight']:.3g} x (log distance -"
        f" {rule['distance_centre']:.3g}), the distance being how far the network's 256 features lie"
        " from the nearest digit's mean (squared Mahalanobis, one covariance shared by the ten,"
        f" fitted on the features of {sum(DISTANCE_FIT):,} training digits: `handdigit/recognition/distance.py`)."
        " It is the rule whatever the validation non-digits say: they are drawn by training's own"
        " generators, which the head learned, and cannot show what the distance is for, drawings"
        " no generator made (`docs/not-a-digit.md` measures it on the proxies)"
    )


def _head_markdown(card):
    head = card.get("not_a_digit_head")
    if not head:
        return ""
    return (
        f"\n- **Not-a-digit head**: {head['what']} ({head['parameters']} parameters), stored beside the seed network"
        f" as {' and '.join(f'`{entry}`' for entry in head['entries'])}: `tinycnn.Sequential.load` reads the"
        " digit classifier alone, `Recognizer.load` puts the head back (handdigit.recognition.head)."
    )


def render_markdown(card):
    test, validation = card["test"], card["validation"]
    rows = "\n".join(
        f"| {digit} | {test['precision'][digit]:.2%} | {test['recall'][digit]:.2%} |" for digit in range(10)
    )
    return f"""# Model card: {card["name"]}

The network HandDigit ships, so that nothing must be trained to use the app.

- **Architecture**: {card["architecture"]} ({card["parameters"]:,} parameters).{_head_markdown(card)}
- **Data**: MNIST, {card["train_images"]:,} training images plus {card.get("drawn_train_images", 0):,} synthetic pen
  drawings of digits and {card.get("not_digit_train_images", 0):,} of things that are not digits (letters,
  Greek and Cyrillic letters, shapes, symbols, scribbles, numbers of two or three digits;
  {"a class of their own, the head's" if card.get("not_a_digit_head") else 'trained towards "none of them"'}), all augmented, the last
  {card["val_images"]:,} MNIST training images for validation; the 10,000 test images were used for this card only.
- **Trained by**: `{card["command"]}`{_code_markdown(card.get("code"))}
  ({card["epochs"]} epochs, {card["wall_time_seconds"] / 60:.1f} min wall time on {card["machine"]["cpu"]},
  {card["machine"]["cores"]} cores). Shipped: the weights after epoch {card["shipped_epoch"]}
  ({"the end of the learning-rate schedule" if card["picked"] == "final" else "the best validation accuracy"}; the best
  validation accuracy was at epoch {card["best_epoch"]}). The command repeats the run bit for bit only with
  the library the weights were trained with; one that computes differently trains an equivalent network.
- **Weights**: `{card["weights_file"]}`, SHA-256 `{card["weights_sha256"]}`.

## Results

| | accuracy | loss | expected calibration error |
|---|---|---|---|
| test (10,000 images) | **{test["accuracy"]:.2%}** ({test["errors"]} errors) | {test["loss"]:.4f} | {test["expected_calibration_error"]:.2%} |
| validation | {validation["accuracy"]:.2%} | {validation["loss"]:.4f} | |

Synthetic pen drawings ({card["drawn"]["images"]:,} digits in {len(card["drawn"]["per_style"])} styles, random brush
widths, slants, sizes and positions, through the full `Recognizer.predict` path; `handdigit.evaluation.evaluate_drawn`):
**{card["drawn"]["accuracy"]:.1%}** recognised; the weakest style is
{min(card["drawn"]["per_style"], key=card["drawn"]["per_style"].get)} at {min(card["drawn"]["per_style"].values()):.0%}.

For comparison: the seed app (Keras + Streamlit) reached 98.89% (loss 0.0439); Keras and PyTorch with
the seed's recipe reach about 99.15% on this machine kind.

| digit | precision | recall |
|---|---|---|
{rows}

{_calibration_markdown(card)}{first_drawings_markdown(card.get("first_drawings"))}
![training curves](curves.png)
![confusion matrix](confusion-matrix.png)
![reliability diagram](reliability.png)
![misclassified digits](misclassified.png)

Data checksums (SHA-256 of the decompressed IDX files):
{chr(10).join(f"- `{name}`: `{digest}`" for name, digest in card["data"]["sha256_of_decompressed_idx"].items())}

Regenerate this card: `python -m handdigit.model_card RUN_DIR` after `handdigit train --out RUN_DIR`.
"""


# Digits and non-digits drawn to fit the temperature and the not-a-digit rule. The rule's threshold
# is set by about the 1% lowest score of one rendition's digits: fitted on 6,000 drawings (600 to
# 1,700 per rendition) it moved by up to 2.4 between draws (one network's rule flagging 1.8 to 2.6%
# of the proxies' digits) and T by 1.08 to 1.21; 36,000 steady both (docs/not-a-digit.md).
CALIBRATION_DRAWINGS = 36_000, 6000
DISTANCE_FIT = 20_000, 8000  # MNIST training images and drawn digits whose features fit the distance


def calibrate_run(run_dir, weights_path, data_dir=None, mnist=None):
    """(the Calibration of a run's weights, the FeatureDistance its rule reads or None), fitted on
    the run's own writers: the distance on the features of digits training saw (MNIST training
    images and drawings redrawn from their writers, a stream of their own); the temperature and the
    rule on its validation writers: MNIST's validation images, and drawings (digits redrawn from the
    validation writers only, in every rendition, and drawings that are not digits) from a stream
    of their own, larger than training's validation drawings so that each rendition has enough
    digits to set a threshold by; with the distance, also the rule's views (the score averaged over
    moved copies: handdigit.evaluation.calibrate.fit_views) on the same validation inputs. A network
    without a not-a-digit output gets no distance, and no views."""
    from handdigit.architecture import DIGITS
    from handdigit.data import load_mnist
    from handdigit.data.drawings import NOT_A_DIGIT, drawn_views
    from handdigit.evaluation.calibrate import calibrate, fit_views
    from handdigit.evaluation.metrics import load_model
    from handdigit.recognition.distance import FeatureDistance, feature_network, network_outputs
    from handdigit.training import TrainConfig
    from handdigit.training.trainer import DRAWN_CALIBRATION_STREAM, DRAWN_DISTANCE_STREAM, split_sizes

    run = json.loads((Path(run_dir) / "history.json").read_text())
    config = TrainConfig.from_dict(run["config"])
    mnist = mnist if mnist is not None else load_mnist(data_dir)
    model = load_model(weights_path)[0]
    cut = split_sizes(len(mnist.train_labels), config)[0]
    end = config.subset or len(mnist.train_labels)
    writers = mnist.train_images[cut:end], mnist.train_labels[cut:end].astype(np.intp)
    views, labels, renditions = drawn_views(
        CALIBRATION_DRAWINGS[0],
        [config.seed, DRAWN_CALIBRATION_STREAM],
        writers=writers,
        nondigits=CALIBRATION_DRAWINGS[1],
    )
    distance, features = None, None
    if model.output_shape[-1] == DIGITS + 1:
        features = feature_network(model)
        seen = mnist.train_images[:cut][: DISTANCE_FIT[0]], mnist.train_labels[:cut][: DISTANCE_FIT[0]]
        drawn, drawn_labels, _ = drawn_views(
            DISTANCE_FIT[1], [config.seed, DRAWN_DISTANCE_STREAM], writers=(seen[0], seen[1].astype(np.intp))
        )
        fit_images = np.concatenate([seen[0].astype(np.float32) / np.float32(255), drawn])
        distance = FeatureDistance.fit(
            features[0].predict(fit_images[..., None], batch_size=500),
            np.concatenate([seen[1], drawn_labels]),
        )

    def outputs(images):
        return network_outputs(model, images[..., None], distance, features=features)

    drawn_logits, drawn_distances = outputs(views)
    mnist_logits, mnist_distances = outputs(writers[0].astype(np.float32) / np.float32(255))
    groups, group_distances = {"MNIST": (mnist_logits, writers[1])}, {"MNIST": mnist_distances}
    digit = labels < NOT_A_DIGIT
    for rendition in sorted(set(renditions[digit])):
        chosen = digit & (renditions == rendition)
        groups[f"drawn {rendition}"] = (drawn_logits[chosen], labels[chosen])
        group_distances[f"drawn {rendition}"] = None if distance is None else drawn_distances[chosen]
    if distance is None:
        return calibrate(groups, drawn_logits[~digit]), None
    calibration = calibrate(
        groups,
        drawn_logits[~digit],
        digit_distances=group_distances,
        not_digit_distances=drawn_distances[~digit],
    )
    group_views = {"MNIST": writers[0].astype(np.float32) / np.float32(255)}
    for rendition in sorted(set(renditions[digit])):
        group_views[f"drawn {rendition}"] = views[digit & (renditions == rendition)]
    return fit_views(calibration, outputs, group_views, views[~digit]), distance


def write_model_card(run_dir, data_dir=None, weights_dir=REPOSITORY_WEIGHTS, pick="final", proxies=3000):
    from handdigit.data import load_mnist
    from handdigit.evaluation import evaluate_drawn, evaluate_weights
    from handdigit.evaluation.first_drawings import check_first_drawings
    from handdigit.evaluation.metrics import load_model
    from handdigit.evaluation.proxies import ProgressBar, evaluate_proxies, plot_threshold_sweep
    from handdigit.recognition.calibration import save_with_calibration
    from handdigit.recognition.recognizer import Recognizer

    run_dir, weights_dir = Path(run_dir), Path(weights_dir)
    weights_path = weights_dir / SHIPPED_WEIGHTS
    source = run_dir / ("weights.npz" if pick == "final" else "best.npz")
    mnist = load_mnist(data_dir)
    calibration, distance = calibrate_run(run_dir, source, mnist=mnist)
    extra = distance.arrays() if distance is not None else None
    save_with_calibration(load_model(source)[0], weights_path, calibration, extra=extra)
    report = evaluate_weights(weights_path, out_dir=weights_dir, mnist=mnist)
    (weights_dir / "metrics.json").unlink(missing_ok=True)  # the card holds the metrics
    shutil.copyfile(run_dir / "curves.png", weights_dir / "curves.png")
    recognizer = Recognizer.load(weights_path)
    drawn = evaluate_drawn(recognizer)
    proxy_report = None
    if proxies:
        with ProgressBar() as bar:
            proxy_report = evaluate_proxies(recognizer, count=proxies, mnist=mnist, progress=bar)
    if proxy_report is not None:
        plot_threshold_sweep(proxy_report, weights_dir / "not-a-digit.png")
    first = check_first_drawings(recognizer)
    card = build_card(run_dir, report, weights_path, drawn, pick, calibration, proxy_report, first)
    write_text_atomic(weights_dir / MODEL_CARD, json.dumps(card, indent=2) + "\n")
    write_text_atomic(weights_dir / "MODEL_CARD.md", render_markdown(card))
    return card


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m handdigit.model_card", description=__doc__.splitlines()[0]
    )
    parser.add_argument("run_dir", type=Path, help="a finished `handdigit train --out` directory")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--pick",
        choices=("final", "best"),
        default="final",
        help="ship the last epoch's weights (the end of the learning-rate schedule) or the best by validation accuracy",
    )
    parser.add_argument(
        "--proxies",
        type=int,
        default=3000,
        help="inputs per evaluation proxy in the card (0: none; default 3000: with fewer, the calibration "
        "errors are mostly sampling noise)",
    )
    args = parser.parse_args(argv)
    if args.proxies < 0:
        parser.error(f"--proxies must be 0 or more, got {args.proxies}")
    card = write_model_card(args.run_dir, args.data_dir, pick=args.pick, proxies=args.proxies)
    print(
        f"test accuracy {card['test']['accuracy']:.2%}, loss {card['test']['loss']:.4f}; card in {REPOSITORY_WEIGHTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
