"""Two checkouts of HandDigit side by side: is a change as fast as the code before it?

    git worktree add --detach ../before COMMIT
    .venv/bin/python benchmarks/compare_checkouts.py ../before .    [--rounds 5]

Every measure runs in a fresh process per checkout (the checkout first on the module path), the two
checkouts alternating round by round so that both see the same machine, each with the benchmarks'
thread settings (2 threads). The measures use only the API both checkouts share:
- conv2 block: forward + backward of the reference network's second convolution block,
  Conv2D(64, 3) -> ReLU -> MaxPool2D(2) on (128, 26, 26, 32), ms (median of 20 in the process);
- training epoch: one epoch of the reference network on 42,000 MNIST training images (batch 128,
  Adam, no augmentation), s;
- single-image latency: `Recognizer.predict` of a drawn digit (preprocessing included), ms (median of 300);
- batch throughput: `Sequential.predict` of MNIST's 10,000 test images (batches of 500), images/s;
- cold start: a process's start to its first `Recognizer` prediction, kernels cached, s.
Writes benchmarks/results/compare_checkouts.{json,md}.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import publish  # noqa: E402
from workers import worker_environment  # noqa: E402

PRELUDE = """
import json, statistics, sys, time
import tinycnn
import numpy as np
"""
MEASURES = {
    "conv2 block fwd+bwd (ms)": PRELUDE
    + """
from tinycnn import Conv2D, MaxPool2D, ReLU, Sequential
model = Sequential([Conv2D(64, 3), ReLU(), MaxPool2D(2)], input_shape=(26, 26, 32), seed=0)
rng = np.random.default_rng(0)
x = rng.random((128, 26, 26, 32), dtype=np.float32)
dy = rng.standard_normal((128, 12, 12, 64)).astype(np.float32)
times = []
for repeat in range(23):
    started = time.perf_counter()
    model.forward(x, training=True)
    model.backward(dy)
    times.append(time.perf_counter() - started)
print(json.dumps(1e3 * statistics.median(times[3:])))
""",
    "training epoch, 42,000 images (s)": PRELUDE
    + """
import os
from handdigit.architecture import build_model
from handdigit.data import load_mnist
from tinycnn import Adam, SoftmaxCrossEntropy
mnist = load_mnist(os.environ.get("HANDDIGIT_DATA"), progressbar=False)
images = (mnist.train_images[:42000].astype(np.float32) / 255)[..., None]
labels = mnist.train_labels[:42000].astype(np.intp)
model, loss, optimizer = build_model(seed=0), SoftmaxCrossEntropy(), Adam(1e-3)
order = np.random.default_rng(0).permutation(len(labels))
def step(index):
    loss.forward(model.forward(images[index], training=True), labels[index])
    model.backward(loss.backward(), input_gradient=False)
    optimizer.step(model)
step(order[:128])  # compiles the kernels, allocates the buffers
started = time.perf_counter()
for start in range(0, len(order), 128):
    step(order[start:start + 128])
print(json.dumps(time.perf_counter() - started))
""",
    "single-image latency (ms)": PRELUDE
    + """
from handdigit import Recognizer
from handdigit.preprocess import rasterize
image = rasterize([[(80, 60), (200, 58), (160, 140), (120, 240)]], 280, 18)
recognizer = Recognizer.load()
recognizer.warmup()
for _ in range(20):
    recognizer.predict(image)
times = []
for _ in range(300):
    started = time.perf_counter()
    recognizer.predict(image)
    times.append(time.perf_counter() - started)
print(json.dumps(1e3 * statistics.median(times)))
""",
    "batch throughput (images/s)": PRELUDE
    + """
import os
from handdigit.architecture import build_model
from handdigit.data import load_mnist
test = (load_mnist(os.environ.get("HANDDIGIT_DATA"), progressbar=False).test_images.astype(np.float32) / 255)[..., None]
model = build_model(seed=0)
model.predict(test[:1000], batch_size=500)
rates = []
for _ in range(3):
    started = time.perf_counter()
    model.predict(test, batch_size=500)
    rates.append(len(test) / (time.perf_counter() - started))
print(json.dumps(statistics.median(rates)))
""",
}
COLD_START = """
import numpy as np
from handdigit import Recognizer
Recognizer.load().predict_proba(np.zeros((1, 28, 28), np.float32))
"""
LOWER_IS_BETTER = {name: not name.endswith("(images/s)") for name in [*MEASURES, "cold start (s)"]}


def run(checkout, code, environment):
    """Run `code` in a fresh process with `checkout` first on the module path: (its printed
    JSON value, or None for a cold start, and the process's wall time)."""
    environment = {**environment, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{checkout}: {result.stderr[-2000:]}")
    return (json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the checkout before the change")
    parser.add_argument("after", type=Path, help="the checkout with the change")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    environment = worker_environment()
    samples = {name: {label: [] for label in checkouts} for name in LOWER_IS_BETTER}
    for checkout in checkouts.values():  # compile each checkout's kernels into its own cache first
        run(checkout, MEASURES["single-image latency (ms)"], environment)
        run(checkout, MEASURES["conv2 block fwd+bwd (ms)"], environment)
    for round_number in range(args.rounds):
        for name, code in MEASURES.items():
            for label, checkout in (reversed if round_number % 2 else iter)(list(checkouts.items())):
                samples[name][label].append(run(checkout, code, environment)[0])
        for label, checkout in checkouts.items():
            samples["cold start (s)"][label].append(run(checkout, COLD_START, environment)[1])
        print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr)
    results = {
        name: {
            label: {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "runs": values,
            }
            for label, values in by_checkout.items()
        }
        for name, by_checkout in samples.items()
    }
    lines = [
        "# Before and after: two checkouts, interleaved",
        "",
        f"`{checkouts['before']}` against `{checkouts['after']}`; {args.rounds} rounds, each measure in a fresh "
        "process per checkout, the checkouts alternating; median (min–max).",
        "",
        "| measure | before | after | after / before |",
        "|---|---|---|---|",
    ]
    for name, by_checkout in results.items():
        before, after = by_checkout["before"], by_checkout["after"]
        ratio = after["median"] / before["median"]
        cells = [f"{r['median']:.3g} ({r['min']:.3g}–{r['max']:.3g})" for r in (before, after)]
        better = ratio <= 1 if LOWER_IS_BETTER[name] else ratio >= 1
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {ratio:.2f}x{'' if better else ' (worse)'} |")
    payload = {
        "benchmark": "compare_checkouts",
        "checkouts": {k: str(v) for k, v in checkouts.items()},
        "results": results,
    }
    return publish("compare_checkouts", payload, lines, "compare_checkouts.py BEFORE AFTER")


if __name__ == "__main__":
    main()
