"""What the rule's views cost: `Recognizer.predict` with the shipped rule (its score averaged over
five moved views, only near the threshold: handdigit.recognition.views) against the same weights
with the rule on one view, drawing by drawing, interleaved (which goes first alternating), on
digit and non-digit proxies. Per
proxy and round the median of each; reported are the medians over the rounds (min-max), the
ratio views / one view, the views' 90th percentile (the drawings the gate sends through the five
views cost about twice one) and the share of drawings it sends.

Usage: python benchmarks/rule_views.py [--count 200] [--rounds 5] [--seed 11]
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine_facts, publish  # noqa: E402

PROXIES = ("mnist-test", "typed-pen", "tablet-8", "thick-scan", "hershey-letters", "pictograms")


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="drawings per proxy")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from handdigit import Recognizer
    from handdigit.data import load_mnist
    from handdigit.evaluation.proxies import make_proxy

    viewed = Recognizer.load()
    if viewed.calibration.views is None:
        sys.exit("rule_views.py: the shipped weights' rule reads one view; nothing to compare")
    one_view = Recognizer(
        viewed.model, calibration=replace(viewed.calibration, views=None), distance=viewed.distance
    )
    viewed.warmup()
    mnist = load_mnist()
    results = {}
    for name in PROXIES:
        images = make_proxy(name, args.count, args.seed, mnist)[0]
        views = [one_view.preprocess(image) for image in images]
        seen = np.stack([view for view in views if view is not None])
        logits, distances = one_view.outputs(seen)
        own = one_view.calibration.scores(logits, distances=distances)
        gated = float(
            np.mean(np.abs(own - viewed.calibration.views.threshold) <= viewed.calibration.views.margin)
        )
        rounds = {"views": [], "one view": [], "ratio": [], "views p90": []}
        for _ in range(args.rounds):
            times = {"views": [], "one view": []}
            order = [("one view", one_view), ("views", viewed)]
            for image in images:  # interleaved: each drawing through both, which goes first alternating
                order.reverse()
                for label, recognizer in order:
                    start = time.perf_counter()
                    recognizer.predict(image)
                    times[label].append((time.perf_counter() - start) * 1e3)
            medians = {label: statistics.median(values) for label, values in times.items()}
            rounds["views"].append(medians["views"])
            rounds["one view"].append(medians["one view"])
            rounds["ratio"].append(medians["views"] / medians["one view"])
            rounds["views p90"].append(float(np.percentile(times["views"], 90)))
        results[name] = {
            "through_views": gated,
            **{label: spread(values) for label, values in rounds.items()},
        }
        print(
            name,
            {
                label: round(value["median"], 3)
                for label, value in results[name].items()
                if label != "through_views"
            },
        )

    lines = [
        "# The rule's views: what they cost in `Recognizer.predict`",
        "",
        f"{args.count} drawings per proxy (seed {args.seed}), {args.rounds} rounds, each drawing through the rule",
        "on one view and through the shipped rule (five views near the threshold), which goes first",
        "alternating; per round the median of each, here the median of the rounds (min-max).",
        "",
        "| proxy | through the views | one view, ms | views, ms | ratio views / one view | views, 90th percentile, ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        cells = [
            f"{result[label]['median']:.2f} ({result[label]['min']:.2f}-{result[label]['max']:.2f})"
            for label in ("one view", "views", "ratio", "views p90")
        ]
        lines.append(f"| {name} | {result['through_views']:.0%} | " + " | ".join(cells) + " |")
    payload = {"machine": machine_facts(), "count": args.count, "rounds": args.rounds, "seed": args.seed}
    payload["proxies"] = results
    publish("rule_views", payload, lines, "rule_views.py")


if __name__ == "__main__":
    main()
