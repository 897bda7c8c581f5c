"""Where one tinycnn training step's time goes: each step of the model (a layer, or a fused
Conv2D-ReLU(-MaxPool2D) block) forward and backward, the loss and the optimizer, next to the time
of that block's own matrix products alone (the GEMM floor, measured in the same run).

The excess over the floor is what im2col, col2im, pooling, ReLU, dropout, bias sums and Python
cost; it is where a faster step must come from. Batch 128 of real MNIST images, Adam, as in
training.py. Usage: python benchmarks/step_profile.py [--steps N]
"""

import argparse
import os
import statistics
import sys
import time

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved, machine_facts, publish  # noqa: E402
from machine_limit import BATCH, gemm_contenders, training_step_gemms  # noqa: E402
from worker import load_data  # noqa: E402
from workers import worker_environment  # noqa: E402


def time_steps(model, images, labels, steps):
    """Median ms of each model step's forward and backward, the loss, the optimizer and the whole
    training step, over `steps` batches (after two warm-up batches)."""
    from tinycnn import Adam, SoftmaxCrossEntropy

    loss, optimizer = SoftmaxCrossEntropy(), Adam(learning_rate=1e-3, epsilon=1e-7)
    plan = [row.step for row in model.plan(BATCH)]
    samples = {key: [] for key in ("loss", "optimizer", "step")}
    for index in range(len(plan)):
        samples[("forward", index)], samples[("backward", index)] = [], []
    batches = len(images) // BATCH
    for number in range(steps + 2):
        batch = slice((number % batches) * BATCH, (number % batches + 1) * BATCH)
        record = {}
        started = time.perf_counter()
        x = images[batch]
        for index, step in enumerate(plan):
            tick = time.perf_counter()
            x = step.forward(x, training=True)
            record[("forward", index)] = time.perf_counter() - tick
        tick = time.perf_counter()
        loss.forward(x, labels[batch])
        gradient = loss.backward()
        record["loss"] = time.perf_counter() - tick
        for index in reversed(range(len(plan))):
            tick = time.perf_counter()
            gradient = plan[index].backward(gradient, input_gradient=index > 0)
            record[("backward", index)] = time.perf_counter() - tick
        tick = time.perf_counter()
        optimizer.step(model)
        record["optimizer"] = time.perf_counter() - tick
        record["step"] = time.perf_counter() - started
        if number >= 2:
            for key, seconds in record.items():
                samples[key].append(seconds * 1e3)
    return plan, {key: statistics.median(values) for key, values in samples.items()}


def gemm_floor_by_step(plan, repeats):
    """{step index: ms of its matrix products alone}; machine_limit names them conv1, conv2,
    dense1, dense2 in the order the Conv2D and Dense layers come."""
    from tinycnn import Conv2D, Dense, settings
    from tinycnn.engine.convolution import choose_algorithm

    shapes = {**training_step_gemms(), **training_step_gemms(algorithm="winograd")}
    timings = interleaved(gemm_contenders(shapes, np.random.default_rng(0)), repeats)
    floors, counts = {}, {"conv": 0, "dense": 0}
    for index, step in enumerate(plan):
        for layer in getattr(step, "layers", (step,)):
            kind = "conv" if isinstance(layer, Conv2D) else "dense" if isinstance(layer, Dense) else None
            if kind:
                counts[kind] += 1
                prefix = f"{kind}{counts[kind]} "
                winograd = kind == "conv" and (
                    choose_algorithm(layer, BATCH, settings.current().conv_algorithm) == "winograd"
                )
                floors[index] = sum(
                    t["median_ms"]
                    for name, t in timings.items()
                    if name.startswith(prefix) and name.endswith("(Winograd)") == winograd
                )
    return floors


def describe(step):
    layers = getattr(step, "layers", (step,))
    return " + ".join(type(layer).__name__ for layer in layers)


def markdown(rows, medians, floors):
    lines = [
        "# Where a training step goes (tinycnn)",
        "",
        f"Batch {BATCH}, Adam; median ms per step over the run. *GEMMs alone*: the same matrix "
        "products on preallocated operands (machine_limit's shapes; the second convolution's are "
        "Winograd's 36 per pass), measured in this run; the first layer skips its input gradient, "
        "as in training.",
        "",
        "| model step | forward | backward | its GEMMs alone | excess |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        floor = f"{row['gemm_floor_ms']:.1f}" if row["gemm_floor_ms"] else "–"
        lines.append(
            f"| {row['step']} | {row['forward_ms']:.1f} | {row['backward_ms']:.1f} | {floor} | "
            f"{row['forward_ms'] + row['backward_ms'] - row['gemm_floor_ms']:.1f} |"
        )
    accounted = sum(row["forward_ms"] + row["backward_ms"] for row in rows)
    rest = medians["step"] - accounted - medians["loss"] - medians["optimizer"]
    floor_total = sum(floors.values())
    lines += [
        f"| loss (softmax cross-entropy) | {medians['loss']:.1f} | | | |",
        f"| optimizer (Adam) | {medians['optimizer']:.1f} | | | |",
        f"| between steps (batch gather, Python) | {rest:.1f} | | | |",
        "",
        f"Whole step: **{medians['step']:.1f} ms**; its GEMMs alone: **{floor_total:.1f} ms** "
        f"({medians['step'] / floor_total:.2f}x).",
    ]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=9, help="rounds of the GEMM floor")
    args = parser.parse_args()
    import tinycnn
    from handdigit.architecture import build_model

    tinycnn.warmup()
    os.environ.setdefault(
        "HANDDIGIT_DATA", worker_environment().get("HANDDIGIT_DATA", "")
    )  # the shared copy, as the other benchmarks
    images, labels, _ = load_data(BATCH * 50)
    plan, medians = time_steps(build_model(seed=0), images, labels, args.steps)
    floors = gemm_floor_by_step(plan, args.repeats)
    rows = [
        {
            "step": describe(step),
            "forward_ms": medians[("forward", index)],
            "backward_ms": medians[("backward", index)],
            "gemm_floor_ms": floors.get(index, 0.0),
        }
        for index, step in enumerate(plan)
    ]
    payload = {
        "benchmark": "step_profile",
        "machine": machine_facts(),
        "rows": rows,
        "loss_ms": medians["loss"],
        "optimizer_ms": medians["optimizer"],
        "step_ms": medians["step"],
    }
    return publish("step_profile", payload, markdown(rows, medians, floors), "step_profile.py")


if __name__ == "__main__":
    main()
