"""The `handdigit` command: train, evaluate, predict, app.

Every failure a user can cause (bad arguments, missing data, unreadable weights) ends in one
clear line on stderr and a non-zero exit, never a traceback.
"""

import argparse
import functools
import json
import sys
from pathlib import Path

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _argument_type(convert, accept, expected):
    """An argparse type: `convert(text)`, then `accept(value)`, else a usage error naming `expected`."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _argument_type(int, lambda value: value >= 1, "a positive integer")
_non_negative_int = _argument_type(int, lambda value: value >= 0, "an integer >= 0")
_positive_float = _argument_type(float, lambda value: 0 < value < float("inf"), "a number > 0")
_fraction = _argument_type(float, lambda value: 0.0 <= value < 1.0, "a fraction in [0, 1)")
_unit_fraction = _argument_type(float, lambda value: 0.0 <= value <= 1.0, "a fraction in [0, 1]")
_port = _argument_type(int, lambda value: 0 <= value <= 65535, "a port number 0-65535")


def build_parser():
    from handdigit.training import OPTIMIZERS, REJECTIONS, SCHEDULES, TrainConfig

    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="handdigit", description="Handwritten digits with a from-scratch CNN."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train the reference network on MNIST",
        description="Train the reference network on MNIST, with a checkpoint after every epoch.",
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help=f"total epochs, also when resuming (default {defaults.epochs})",
    )
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument(
        "--lr", type=_positive_float, default=None, help="peak learning rate (default: the optimizer's)"
    )
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    train.add_argument("--schedule", choices=SCHEDULES, default=None)
    train.add_argument(
        "--val-split",
        type=_fraction,
        default=None,
        help=f"fraction of the training set (its last images) kept for validation; 0 for none (default {defaults.val_split:g})",
    )
    train.add_argument("--seed", type=_non_negative_int, default=None)
    train.add_argument(
        "--subset",
        type=_positive_int,
        default=None,
        help="use only the first N training images (before the split)",
    )
    train.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    train.add_argument(
        "--drawn",
        type=_unit_fraction,
        default=None,
        help="synthetic pen drawings added to training, as a fraction of the MNIST training images "
        f"(default {defaults.drawn:g}; 0 for MNIST only)",
    )
    train.add_argument(
        "--not-digits",
        type=_unit_fraction,
        default=None,
        help="drawings that are not digits (letters, shapes, symbols, scribbles), as a fraction of the "
        f"MNIST training images (default {defaults.not_digits:g}; 0 for none)",
    )
    train.add_argument(
        "--not-digits-weight",
        type=float,
        default=None,
        help=f"their loss's weight against a digit's (default {defaults.not_digits_weight:g})",
    )
    train.add_argument(
        "--rejection",
        choices=REJECTIONS,
        default=None,
        help="how they are trained: 'class', an output of the network's own for 'not a digit' (a head "
        "in the shipped file); 'uniform', the ten digits' answer trained towards uniform (outlier "
        f"exposure) (default {defaults.rejection})",
    )
    group = train.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--out", type=Path, help="directory for the new run (checkpoints, weights, history, curves)"
    )
    group.add_argument("--resume", type=Path, metavar="DIR", help="continue the run saved in DIR")
    train.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory with the MNIST files (default: $HANDDIGIT_DATA or download)",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="test-set accuracy, confusion matrix, calibration",
        description="Evaluate weights on the MNIST test set.",
    )
    evaluate.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="weights file: tinycnn .npz, or the seed app's Keras .h5/.keras (default: the shipped weights)",
    )
    evaluate.add_argument("--data-dir", type=Path, default=None)
    evaluate.add_argument("--out", type=Path, default=None, help="directory for the figures and metrics.json")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument(
        "--proxies",
        type=_positive_int,
        nargs="?",
        const=300,
        default=None,
        metavar="N",
        help="also run the evaluation proxies (real users' kinds of input made by generators and writers "
        "training never used, digits and not), N inputs each (default 300)",
    )

    predict = commands.add_parser(
        "predict",
        help="recognise the digit in image files",
        description="Recognise the digit in each image (drawing, photo or scan; any format Pillow reads).",
    )
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="weights file: tinycnn .npz, or the seed app's Keras .h5/.keras (default: the shipped weights)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument(
        "--number",
        action="store_true",
        help="read a number of several digits in each image (left to right) instead of one digit",
    )
    predict.add_argument(
        "--show",
        type=Path,
        default=None,
        metavar="DIR",
        help="save what the network saw (28x28 PNG) per image",
    )

    export = commands.add_parser(
        "export",
        help="write the network in another format (ONNX)",
        description="Write the digit network as an ONNX file: input 'input' (N, 28, 28, 1) float32 in "
        "[0, 1], output 'logits' (N, 10); no preprocessing, no softmax.",
    )
    export.add_argument("--onnx", type=Path, required=True, metavar="PATH", help="the .onnx file to write")
    export.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="weights file: tinycnn .npz, or the seed app's Keras .h5/.keras (default: the shipped weights)",
    )

    web = commands.add_parser(
        "export-web",
        help="write the drawing pad as a static web page (no server code: any static host)",
        description="Write DIR/index.html and the files it needs: the pad, the preprocessing, the network "
        "and the not-a-digit rule all run in the visitor's browser. Serve DIR with any static web server "
        "(python -m http.server -d DIR) or open DIR/index.html directly.",
    )
    web.add_argument("directory", type=Path, metavar="DIR", help="a new or empty folder")
    web.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="weights file: tinycnn .npz, or the seed app's Keras .h5/.keras (default: the shipped weights)",
    )
    web.add_argument(
        "--precision",
        choices=("float16", "float32"),
        default="float16",
        help="how the weights are stored in the page (default float16: half the download, the same answers)",
    )

    app = commands.add_parser(
        "app",
        help="serve the drawing app in the browser (Voila)",
        description="Serve the drawing widget as a web page: draw a digit, watch the network answer.",
    )
    app.add_argument("--port", type=_port, default=8866, help="TCP port (default 8866; 0 picks a free one)")
    app.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument(
        "--max-sessions", type=_positive_int, default=8, help="visitors served at once (default 8)"
    )
    app.add_argument(
        "--idle-minutes",
        type=_positive_float,
        default=15,
        help="close a session whose visitor has not drawn for this long (default 15)",
    )
    app.add_argument(
        "--session-minutes",
        type=_positive_float,
        default=60,
        help="close every session this long after it started, busy or not (default 60)",
    )
    app.add_argument(
        "--memory-mb",
        type=_positive_int,
        default=None,
        help="memory all visitors' kernels may take together, at about 250 MB each (default 4096)",
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from handdigit.data import MnistError
    from tinycnn.errors import WeightsFileError

    try:
        if args.command == "train":
            return run_train(args, parser)
        if args.command == "predict":
            return run_predict(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "export-web":
            return run_export_web(args)
        if args.command == "app":
            from handdigit.pad.app import run

            return run(
                args.host,
                args.port,
                not args.no_browser,
                args.max_sessions,
                args.idle_minutes,
                args.session_minutes,
                args.memory_mb,
            )
        return run_evaluate(args)
    except (MnistError, WeightsFileError, FileNotFoundError, ValueError) as error:
        print(f"handdigit {args.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # before training started (a resume's data preparation), or evaluating
        print(f"\nhanddigit {args.command}: interrupted; nothing was changed", file=sys.stderr)
        return EXIT_INTERRUPTED


TRAIN_OPTIONS = {  # TrainConfig field: its option (all but --epochs change a run's result)
    "batch_size": "--batch-size",
    "learning_rate": "--lr",
    "optimizer": "--optimizer",
    "schedule": "--schedule",
    "val_split": "--val-split",
    "seed": "--seed",
    "subset": "--subset",
    "augment": "--no-augment",
    "drawn": "--drawn",
    "not_digits": "--not-digits",
    "not_digits_weight": "--not-digits-weight",
    "rejection": "--rejection",
}


def _given_train_options(args):
    """{TrainConfig field: value} of the options given on the command line."""
    given = {
        field: getattr(args, "lr" if field == "learning_rate" else field, None) for field in TRAIN_OPTIONS
    }
    given["augment"] = False if args.no_augment else None
    return {field: value for field, value in given.items() if value is not None}


def run_train(args, parser):
    from handdigit.training import TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted
    from handdigit.training.progress import TqdmProgress
    from handdigit.training.trainer import _read_checkpoint_metadata
    from handdigit.util import check_output_directory

    given = _given_train_options(args)
    if args.resume is not None:
        checkpoint_path = args.resume / "checkpoint.npz"
        if checkpoint_path.is_file():
            recorded = TrainConfig.from_dict(_read_checkpoint_metadata(checkpoint_path)["config"])
            changed = [
                f"{TRAIN_OPTIONS[field]} (the run has {_shown(recorded, field)})"
                for field, value in given.items()
                if value
                != (
                    recorded.effective_learning_rate if field == "learning_rate" else getattr(recorded, field)
                )
            ]
            if changed:
                parser.error(
                    f"--resume continues a run with its recorded options; {', '.join(changed)} cannot change "
                    "(start a new run with --out to train with other options)"
                )
            check_output_directory(args.resume, "--resume")
        trainer = Trainer.resume(
            args.resume, epochs=args.epochs, data_dir=args.data_dir, callbacks=[TqdmProgress()]
        )
        out_dir = args.resume
        print(f"Resuming {out_dir} after epoch {trainer.completed_epochs} of {trainer.config.epochs}")
    else:
        config = TrainConfig(**{**given, "epochs": args.epochs or TrainConfig().epochs})
        out_dir = args.out
        if (out_dir / "checkpoint.npz").exists():
            print(
                f"handdigit train: error: {out_dir} already holds a run; resume it with --resume {out_dir} "
                "or choose another --out",
                file=sys.stderr,
            )
            return EXIT_USAGE
        check_output_directory(out_dir, "--out")
        trainer = Trainer(config, out_dir, data_dir=args.data_dir, callbacks=[TqdmProgress()])
        print(f"Training: {config.command_line(out_dir)}")
    if trainer.completed_epochs >= trainer.config.epochs:
        print(
            f"{out_dir}: all {trainer.config.epochs} epochs are already done (pass a larger --epochs to go on)"
        )
        return 0
    try:
        history = trainer.run()
    except TrainingInterrupted as interrupted:
        print(f"\n{interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TrainingDiverged as diverged:
        print(f"\nhanddigit train: error: {diverged}", file=sys.stderr)
        return EXIT_ERROR
    last = history[-1]
    print(
        f"Done: {len(history)} epochs in {trainer.elapsed_seconds:.0f} s; weights in {out_dir / 'best.npz'}"
    )
    if "val_accuracy" in last:
        print(f"Best validation accuracy {trainer.best_val_accuracy:.2%}")
    return 0


def _shown(config, field):
    value = config.effective_learning_rate if field == "learning_rate" else getattr(config, field)
    if field == "augment":
        return "augmentation" if value else "--no-augment"
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_evaluate(args):
    from handdigit.evaluation import evaluate_weights
    from handdigit.util import check_output_directory

    if args.out is not None:
        check_output_directory(args.out, "--out")
    report = evaluate_weights(args.weights, data_dir=args.data_dir, out_dir=args.out)
    if args.proxies:
        from handdigit.data import load_mnist
        from handdigit.evaluation.proxies import (
            ProgressBar,
            evaluate_proxies,
            plot_threshold_sweep,
            summary_lines,
        )
        from handdigit.recognition.recognizer import Recognizer

        with ProgressBar() as bar:
            proxies = evaluate_proxies(
                Recognizer.load(args.weights),
                count=args.proxies,
                mnist=load_mnist(args.data_dir),
                progress=bar,
            )
        if args.out is not None:
            plot_threshold_sweep(proxies, args.out / "not-a-digit.png")
        report["proxies"] = {
            name: {key: value for key, value in entry.items() if key != "scores"}
            for name, entry in proxies["proxies"].items()
        }
        report["proxies_rule"] = proxies["calibration"]  # the rule they were flagged by
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Weights: {report['weights']}")
    print(
        f"Test accuracy {report['accuracy']:.2%}   loss {report['loss']:.4f}   "
        f"expected calibration error {report['expected_calibration_error']:.2%}"
    )
    if report.get("flagged_not_a_digit"):
        print(
            f'Test digits flagged "not a digit": {report["flagged_not_a_digit"]:.2%} (temperature {report["temperature"]:.3f})'
        )
    print("digit  precision  recall")
    for digit in range(10):
        print(f"  {digit}     {report['precision'][digit]:7.2%}  {report['recall'][digit]:7.2%}")
    if args.proxies:
        print()
        print("\n".join(summary_lines({"proxies": report["proxies"], "calibration": report["proxies_rule"]})))
    if args.out is not None:
        print(f"Figures and metrics.json in {args.out}")
    return 0


def run_export(args):
    from handdigit.recognition.head import load_network
    from handdigit.resources import shipped_weights_path
    from handdigit.util import check_output_directory
    from tinycnn import Sequential
    from tinycnn.export import to_onnx
    from tinycnn.keras_weights import is_keras_file

    check_output_directory(args.onnx.resolve().parent, "--onnx")
    weights = args.weights if args.weights is not None else shipped_weights_path()
    # A Keras file: the seed app's model in the reference architecture. A tinycnn file: the digit
    # network alone (a not-a-digit head stays behind).
    model = load_network(weights) if is_keras_file(weights) else Sequential.load(weights)
    try:
        path = to_onnx(model, args.onnx)
    except ImportError as error:
        print(f"handdigit export: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(
            f"handdigit export: error: {args.onnx}: cannot write it ({error.strerror or error})",
            file=sys.stderr,
        )
        return EXIT_ERROR
    print(f"Wrote {path}: input 'input' (N, 28, 28, 1) float32 in [0, 1], output 'logits' (N, 10)")
    return 0


def run_export_web(args):
    from handdigit.web import WebExportError, export_web

    try:
        sizes = export_web(args.directory, args.weights, args.precision)
    except WebExportError as error:
        print(f"handdigit export-web: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    total = sum(sizes.values())
    print(f"Wrote {args.directory}/: {', '.join(sizes)} ({total / 1e6:.1f} MB, weights in {args.precision})")
    print(f"Serve it with any static web server, e.g.  python -m http.server -d {args.directory}")
    print(f"or open {args.directory / 'index.html'} in a browser.")
    return 0


def _print_number(path, reading, as_json):
    if as_json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "number": reading.text,
                    "digits": [
                        {"digit": p.digit, "confidence": round(p.confidence, 6), "box": list(box)}
                        for p, box in zip(reading.digits, reading.boxes, strict=True)
                    ],
                }
            )
        )
    elif reading.text:
        sure = "  ".join(f"{p.digit} {p.confidence:.0%}" for p in reading.digits)
        print(f"{path}: {reading.text}  ({sure})")
    else:
        print(f"{path}: no number")


def run_predict(args):
    import numpy as np

    from handdigit.recognition.images import UnreadableImage
    from handdigit.recognition.recognizer import Recognizer

    recognizer = Recognizer.load(args.weights)
    if args.show is not None:
        from handdigit.util import check_output_directory

        check_output_directory(args.show, "--show")
    if args.number and args.show is not None:
        print(
            "handdigit predict: error: --show shows one digit's view; it does not go with --number",
            file=sys.stderr,
        )
        return EXIT_ERROR
    failures = 0
    for number, path in enumerate(args.images):
        try:
            if args.number:
                _print_number(path, recognizer.read_number(path), args.json)
                continue
            prediction = recognizer.predict(path)
        except UnreadableImage as error:
            failures += 1
            if args.json:
                print(json.dumps({"file": str(path), "error": str(error)}))
            else:
                print(f"{path}: cannot read: {error}", file=sys.stderr)
            continue
        if args.show is not None:
            from PIL import Image

            from handdigit.util import write_atomic

            view = Image.fromarray(np.round(prediction.input28 * 255).astype(np.uint8), mode="L")
            write_atomic(
                args.show / f"{number:03d}-{path.stem}.png", functools.partial(view.save, format="PNG"), "wb"
            )
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "digit": prediction.digit,
                        "confidence": round(prediction.confidence, 6),
                        "uncertain": prediction.uncertain,
                        "not_a_digit": prediction.not_a_digit,
                        "probabilities": [round(float(p), 6) for p in prediction.probabilities],
                    }
                )
            )
        elif prediction.digit is None:
            print(f"{path}: no digit")
        elif prediction.not_a_digit:
            print(f"{path}: not a digit (closest {prediction.digit}, {prediction.confidence:.1%})")
        else:
            unsure = " (unsure)" if prediction.uncertain else ""
            print(f"{path}: {prediction.digit}  {prediction.confidence:.1%}{unsure}")
    if failures:
        print(f"{failures} of {len(args.images)} file(s) could not be read", file=sys.stderr)
    return EXIT_ERROR if failures else 0


if __name__ == "__main__":
    sys.exit(main())
