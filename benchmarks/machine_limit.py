"""The machine's limit: what no implementation of the reference network can beat on this CPU.

- float32 matrix-multiply throughput of NumPy's BLAS on the exact GEMM shapes of one training step
  of the reference network (batch 128, im2col convolutions), and from it the floor time of one
  42,000-image training epoch: the GEMMs alone, operands preallocated, nothing else;
- peak sgemm throughput (2048^3) for scale;
- memory copy bandwidth, the floor of im2col and col2im (they move bytes, they do no arithmetic).

Usage: python benchmarks/machine_limit.py [--repeats N]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import format_timing, interleaved, machine_facts, publish  # noqa: E402

BATCH = 128
EPOCH_IMAGES = 42_000


def training_step_gemms(batch=BATCH):
    """{name: (M, K, N)} of every matrix product in one training step (forward and backward)."""
    conv1_rows, conv2_rows = batch * 26 * 26, batch * 24 * 24
    return {
        "conv1 forward": (conv1_rows, 9, 32),
        "conv1 weight gradient": (9, conv1_rows, 32),
        "conv2 forward": (conv2_rows, 288, 64),
        "conv2 weight gradient": (288, conv2_rows, 64),
        "conv2 input gradient": (conv2_rows, 64, 288),
        "dense1 forward": (batch, 9216, 256),
        "dense1 weight gradient": (9216, batch, 256),
        "dense1 input gradient": (batch, 256, 9216),
        "dense2 forward": (batch, 256, 10),
        "dense2 weight gradient": (256, batch, 10),
        "dense2 input gradient": (batch, 10, 256),
    }


def gemm_contenders(shapes, rng):
    """A callable per shape computing out = a @ b into preallocated operands (a transposed view
    where the step multiplies by a transpose, as the layers do)."""
    contenders = {}
    for name, (m, k, n) in shapes.items():
        if "weight gradient" in name:  # cols.T @ dy: the left operand is a transposed view
            a = rng.random((k, m), dtype=np.float32).T
        else:
            a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        contenders[name] = lambda a=a, b=b, out=out: np.matmul(a, b, out=out)
    return contenders


def measure_gemm_floor(repeats=7, rng=None):
    """Per-GEMM timings, the per-step floor (sum of medians) and the epoch floor in seconds."""
    rng = rng or np.random.default_rng(0)
    shapes = training_step_gemms()
    timings = interleaved(gemm_contenders(shapes, rng), repeats)
    flops = {name: 2.0 * m * k * n for name, (m, k, n) in shapes.items()}
    step_ms = sum(t["median_ms"] for t in timings.values())
    steps = EPOCH_IMAGES / BATCH
    return {
        "timings": timings,
        "gflops": {name: flops[name] / (timings[name]["median_ms"] * 1e6) for name in shapes},
        "flops_per_image": sum(flops.values()) / BATCH,
        "step_floor_ms": step_ms,
        "epoch_floor_s": step_ms * steps / 1e3,
    }


def measure_peak_and_bandwidth(repeats=5, rng=None):
    rng = rng or np.random.default_rng(0)
    size = 2048
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    megabytes = 64
    source = rng.random(megabytes * 2**20 // 4, dtype=np.float32)
    target = np.empty_like(source)
    target[:] = 0  # touched once, so the copy does not pay for page faults
    timings = interleaved(
        {
            "sgemm 2048^3": lambda: np.matmul(a, b, out=out),
            f"copy {megabytes} MiB": lambda: np.copyto(target, source),
        },
        repeats,
    )
    return {
        "timings": timings,
        "peak_gflops": 2 * size**3 / (timings["sgemm 2048^3"]["median_ms"] * 1e6),
        # A copy reads and writes every byte once.
        "copy_gb_per_s": 2 * source.nbytes / (timings[f"copy {megabytes} MiB"]["median_ms"] * 1e6),
    }


def markdown(floor, peak):
    lines = [
        "# The machine's limit",
        "",
        f"Peak sgemm (2048³): **{peak['peak_gflops']:.0f} GFLOP/s**; memory copy: "
        f"**{peak['copy_gb_per_s']:.1f} GB/s** (bytes read + written).",
        "",
        f"The reference network's GEMMs cost {floor['flops_per_image'] / 1e6:.1f} MFLOP per training image. "
        f"At the speeds below, one training step (batch {BATCH}) cannot take less than "
        f"**{floor['step_floor_ms']:.1f} ms**, and one {EPOCH_IMAGES:,}-image epoch less than "
        f"**{floor['epoch_floor_s']:.1f} s**.",
        "",
        "| GEMM (M×K×N) | time | GFLOP/s |",
        "|---|---|---|",
    ]
    for name, (m, k, n) in training_step_gemms().items():
        lines.append(
            f"| {name} ({m}×{k}×{n}) | {format_timing(floor['timings'][name])} | {floor['gflops'][name]:.0f} |"
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    floor = measure_gemm_floor(args.repeats)
    peak = measure_peak_and_bandwidth()
    payload = {"benchmark": "machine_limit", "machine": machine_facts(), "gemm_floor": floor, "peak": peak}
    return publish("machine_limit", payload, markdown(floor, peak), "machine_limit.py")


if __name__ == "__main__":
    main()
