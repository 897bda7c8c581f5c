"""Inference: single-image latency (the widget's path) and 10,000-image throughput at batch 128,
HandDigit vs PyTorch vs Keras, each in its own process, rounds interleaved.

For HandDigit it also times the whole single-image `Recognizer.predict` (a 280x280 drawing:
decoding, preprocessing to MNIST style and the network) in this process, with the memory it
allocates per call (tracemalloc).
Usage: python benchmarks/inference.py [--rounds N]
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import machine_facts, publish  # noqa: E402
from contenders import CONTENDERS  # noqa: E402
from workers import start_workers  # noqa: E402


def peers(names, rounds, latency_repeats=100, images=10_000):
    workers, notes = start_workers(names)
    latency = {name: [] for name in workers}
    throughput = {name: [] for name in workers}
    try:
        for _ in range(rounds):
            for name, worker in workers.items():
                latency[name] += worker.ask(do="latency", repeats=latency_repeats)["samples_ms"][5:]
            for name, worker in workers.items():
                throughput[name].append(worker.ask(do="throughput", images=images)["images_per_s"])
    finally:
        for worker in workers.values():
            worker.close()
    results = {
        name: {
            "label": CONTENDERS[name].name,
            "latency_median_ms": statistics.median(latency[name]),
            "latency_min_ms": min(latency[name]),
            "latency_max_ms": max(latency[name]),
            "throughput_median": statistics.median(throughput[name]),
            "throughput_min": min(throughput[name]),
            "throughput_max": max(throughput[name]),
        }
        for name in workers
    }
    return results, notes


def recognizer_predict(repeats=300):
    """The whole single-image predict of a drawn digit, as the widget and the CLI call it."""
    from handdigit import Recognizer
    from handdigit.preprocess import rasterize

    recognizer = Recognizer.load()
    recognizer.warmup()
    drawing = rasterize([[(80, 60), (200, 58), (160, 140), (120, 240)]], 280, 18)
    for _ in range(20):
        recognizer.predict(drawing)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        recognizer.predict(drawing)
        samples.append((time.perf_counter() - started) * 1e3)
    tracemalloc.start()
    recognizer.predict(drawing)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "median_ms": statistics.median(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
        "p90_ms": float(np.percentile(samples, 90)),
        "peak_allocated_kib": peak / 1024,
    }


def markdown(results, recognizer, notes):
    lines = [
        "# Inference",
        "",
        "| contender | one image (network alone), median (min–max) | 10,000 images at batch 128, images/s median (min–max) |",
        "|---|---|---|",
    ]
    for r in results.values():
        lines.append(
            f"| {r['label']} | {r['latency_median_ms']:.2f} ms ({r['latency_min_ms']:.2f}–{r['latency_max_ms']:.2f}) "
            f"| {r['throughput_median']:,.0f} ({r['throughput_min']:,.0f}–{r['throughput_max']:,.0f}) |"
        )
    if "tinycnn" in results and "torch" in results:
        ours, torch = results["tinycnn"], results["torch"]
        lines += [
            "",
            f"Latency HandDigit / PyTorch: **{ours['latency_median_ms'] / torch['latency_median_ms']:.2f}x** "
            "(target: at most 1.0x); throughput HandDigit / PyTorch: "
            f"**{ours['throughput_median'] / torch['throughput_median']:.2f}x** (target: at least 1.0x).",
        ]
    lines += [
        "",
        f"`Recognizer.predict` of a 280×280 drawing (preprocessing included): median "
        f"**{recognizer['median_ms']:.2f} ms** (min {recognizer['min_ms']:.2f}, 90th percentile "
        f"{recognizer['p90_ms']:.2f}, max {recognizer['max_ms']:.2f}; target: at most 2 ms); "
        f"it allocates at most {recognizer['peak_allocated_kib']:.0f} KiB per call.",
    ]
    lines += [""] + [f"- {note}" for note in notes]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contenders", default="tinycnn,torch,keras")
    args = parser.parse_args()
    names = [name.strip() for name in args.contenders.split(",") if name.strip()]
    results, notes = peers(names, args.rounds)
    recognizer = recognizer_predict()
    payload = {
        "benchmark": "inference",
        "machine": machine_facts(),
        "results": results,
        "recognizer_predict": recognizer,
        "notes": notes,
    }
    return publish("inference", payload, markdown(results, recognizer, notes), "inference.py")


if __name__ == "__main__":
    main()
