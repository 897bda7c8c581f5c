"""`Recognizer.learn` on handwriting the shipped network misreads: three styles built here (a 3
and a 7 written mirrored, as children often write them, and a zero with a slash through it), each
taught with 30 drawn examples and measured on 100 more drawn afresh; MNIST test accuracy before and
after (forgetting), and the time `learn` takes.

Usage: python benchmarks/learn_styles.py [--examples 30] [--held-out 100]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine_facts, publish  # noqa: E402


def mirrored(strokes):
    return [[(1.0 - x, y) for x, y in stroke] for stroke in strokes]


def styles():
    from handdigit.data.synthetic import STYLES

    ring = [(0.5 + 0.35 * np.cos(t), 0.5 + 0.5 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 36)]
    return {
        "3 mirrored": (3, mirrored(next(iter(STYLES[3].values())))),
        "7 mirrored": (7, mirrored(next(iter(STYLES[7].values())))),
        "0 slashed": (0, [ring, [(0.85, 0.05), (0.15, 0.95)]]),
    }


def drawings(unit_strokes, count, rng):
    from handdigit.data.synthetic import place_strokes
    from handdigit.preprocess import rasterize

    return [rasterize(place_strokes(unit_strokes, rng, 280), 280, rng.uniform(8, 24)) for _ in range(count)]


def accuracy(recognizer, images, digit):
    return float(np.mean([p.digit == digit and not p.not_a_digit for p in recognizer.predict_many(images)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--held-out", type=int, default=100)
    args = parser.parse_args()

    from handdigit import Recognizer
    from handdigit.data import load_mnist

    recognizer, mnist = Recognizer.load(), load_mnist()
    test = (mnist.test_images, mnist.test_labels.astype(int))
    before_mnist = float(np.mean(recognizer.predict_proba(test[0]).argmax(axis=1) == test[1]))
    rng = np.random.default_rng(2026)
    rows, payload = [], {"machine": machine_facts(), "styles": {}}
    for name, (digit, unit_strokes) in styles().items():
        taught_on, held_out = (
            drawings(unit_strokes, args.examples, rng),
            drawings(unit_strokes, args.held_out, rng),
        )
        started = time.perf_counter()
        taught = recognizer.learn(taught_on, [digit] * args.examples)
        seconds = time.perf_counter() - started
        before, after = accuracy(recognizer, held_out, digit), accuracy(taught, held_out, digit)
        after_mnist = float(np.mean(taught.predict_proba(test[0]).argmax(axis=1) == test[1]))
        payload["styles"][name] = {
            "before": before,
            "after": after,
            "mnist_after": after_mnist,
            "seconds": seconds,
        }
        rows.append(
            f"| {name} | {before:.0%} | {after:.0%} | {100 * (after_mnist - before_mnist):+.2f} | {seconds:.1f} |"
        )
    lines = [
        "# Teaching the network a style it misreads (`Recognizer.learn`)",
        "",
        f"{args.examples} examples taught, {args.held_out} held-out drawings of the style measured; MNIST test "
        f"accuracy before: {before_mnist:.2%}.",
        "",
        "| style | held-out before | after | MNIST test change (points) | learn (s) |",
        "|---|---|---|---|---|",
        *rows,
    ]
    payload["mnist_before"] = before_mnist
    publish("learn_styles", payload, lines, "learn_styles.py")


if __name__ == "__main__":
    main()
