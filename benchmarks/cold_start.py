"""Cold start: a fresh process, from its start to its first prediction, timed from outside.

HandDigit: `Recognizer.load()` (the shipped weights) and one `predict_proba`, with the Numba
kernels in their on-disk cache, and with an empty cache (compiled from scratch). Peers: import
the framework, build the network, load saved weights, predict one image. Runs are interleaved.
Usage: python benchmarks/cold_start.py [--rounds N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_facts, publish  # noqa: E402
from contenders import available  # noqa: E402
from workers import worker_environment  # noqa: E402

HANDDIGIT = """
import numpy as np
from handdigit import Recognizer
Recognizer.load().predict_proba(np.zeros((1, 28, 28), np.float32))
"""
TORCH = """
import sys, numpy as np, torch
from torch import nn
torch.set_num_threads(2)
model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
model.load_state_dict(torch.load(sys.argv[1]))
model.eval()
with torch.no_grad():
    model(torch.zeros(1, 1, 28, 28)).softmax(1).numpy()
"""
KERAS = """
import sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1])
model.predict_on_batch(np.zeros((1, 28, 28, 1), np.float32))
"""


def save_peer_weights(directory):
    """Weights files for the peers to load (random weights: the same work as trained ones)."""
    import numpy as np
    from contenders import Keras, Torch

    images, labels = np.zeros((1, 28, 28, 1), np.float32), np.zeros(1, np.intp)
    paths = {}
    if not available("torch"):
        paths["torch"] = str(Path(directory) / "torch.pt")
        Torch(images, labels).save(paths["torch"])
    if not available("keras"):
        paths["keras"] = str(Path(directory) / "model.keras")
        Keras(images, labels).save(paths["keras"])
    return paths


def timed(code, arguments=(), environment=None):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *arguments], check=True, env=environment, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    environment = worker_environment()
    samples = {"HandDigit, kernels cached": [], "HandDigit, empty kernel cache": []}
    notes = [note for note in (available("torch"), available("keras")) if note]
    with tempfile.TemporaryDirectory() as directory:
        paths = save_peer_weights(directory)
        peers = {"torch": ("PyTorch", TORCH), "keras": ("Keras (TensorFlow)", KERAS)}
        for name in paths:
            samples[peers[name][0]] = []
        timed(HANDDIGIT, environment=environment)  # fills the kernel cache and the page cache
        for _ in range(args.rounds):
            samples["HandDigit, kernels cached"].append(timed(HANDDIGIT, environment=environment))
            with tempfile.TemporaryDirectory() as cache:
                fresh = {**environment, "NUMBA_CACHE_DIR": cache}
                samples["HandDigit, empty kernel cache"].append(timed(HANDDIGIT, environment=fresh))
            for name, path in paths.items():
                label, code = peers[name]
                samples[label].append(timed(code, [path], environment))
    results = {
        label: {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "runs": values,
        }
        for label, values in samples.items()
    }
    lines = [
        "# Cold start: a fresh process to its first prediction",
        "",
        f"{args.rounds} interleaved runs each (warm page cache); median (min–max).",
        "",
        "| contender | seconds |",
        "|---|---|",
    ]
    for label, r in results.items():
        lines.append(f"| {label} | {r['median_s']:.2f} ({r['min_s']:.2f}–{r['max_s']:.2f}) |")
    if "PyTorch" in results:
        ratio = results["HandDigit, kernels cached"]["median_s"] / results["PyTorch"]["median_s"]
        lines += ["", f"HandDigit (cached) / PyTorch: **{ratio:.2f}x** (target: below 1.0x)."]
    lines += [""] + [f"- {note}" for note in notes]
    payload = {"benchmark": "cold_start", "machine": machine_facts(), "results": results, "notes": notes}
    return publish("cold_start", payload, lines, "cold_start.py")


if __name__ == "__main__":
    main()
