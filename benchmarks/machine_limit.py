"""The machine's limit: what no implementation of the reference network can beat on this CPU.

- float32 matrix-multiply throughput of NumPy's BLAS on the exact GEMM shapes of one training step
  of the reference network (batch 128, im2col convolutions), and from it the floor time of one
  42,000-image training epoch: the GEMMs alone, operands preallocated, nothing else. This is the
  floor of any implementation that convolves directly (as GEMMs or as direct loops);
- the same for the GEMMs tinycnn actually runs: its second convolution by Winograd's F(4x4, 3x3)
  is 36 smaller products per pass with 4x fewer multiply-adds (tinycnn.winograd), so tinycnn
  can go below the direct floor;
- peak sgemm throughput (2048^3) for scale;
- memory copy bandwidth, the floor of im2col and col2im (they move bytes, they do no arithmetic).

Usage: python benchmarks/machine_limit.py [--repeats N]
"""

import argparse
import math
import os
import sys

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import format_timing, interleaved, machine_facts, publish  # noqa: E402

BATCH = 128
EPOCH_IMAGES = 42_000


def training_step_gemms(batch=BATCH, algorithm="im2col"):
    """{name: (M, K, N)} of every matrix product in one training step (forward and backward);
    with algorithm="winograd", the second convolution's are tinycnn's 36 per pass:
    (36, M, K, N)."""
    conv1_rows, conv2_rows = batch * 26 * 26, batch * 24 * 24
    if algorithm == "winograd":
        tiles = batch * 6 * 6  # 4x4 output tiles of a 24x24 output
        shapes = training_step_gemms(batch)
        del shapes["conv2 forward"], shapes["conv2 weight gradient"], shapes["conv2 input gradient"]
        return {
            **shapes,
            "conv2 forward (Winograd)": (36, tiles, 32, 64),
            "conv2 weight gradient (Winograd)": (36, 64, tiles, 32),
            "conv2 input gradient (Winograd)": (36, tiles, 64, 32),
        }
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
    for name, shape in shapes.items():
        batch, (m, k, n) = shape[:-3], shape[-3:]
        if "weight gradient" in name:  # cols.T @ dy: the left operand is a transposed view
            a = rng.random((*batch, k, m), dtype=np.float32).swapaxes(-1, -2)
        else:
            a = rng.random((*batch, m, k), dtype=np.float32)
        b = rng.random((*batch, k, n), dtype=np.float32)
        out = np.empty((*batch, m, n), np.float32)
        contenders[name] = lambda a=a, b=b, out=out: np.matmul(a, b, out=out)
    return contenders


def measure_gemm_floor(repeats=7, rng=None):
    """Per-GEMM timings, the per-step floor (sum of medians) and the epoch floor in seconds, for
    direct convolutions; and under "winograd" the same for the GEMMs tinycnn runs (measured in
    the same interleaved rounds)."""
    rng = rng or np.random.default_rng(0)
    direct, ours = training_step_gemms(), training_step_gemms(algorithm="winograd")
    shapes = {**direct, **ours}
    timings = interleaved(gemm_contenders(shapes, rng), repeats)

    def floor(selected):
        flops = {name: 2.0 * math.prod(shape) for name, shape in selected.items()}
        step_ms = sum(timings[name]["median_ms"] for name in selected)
        return {
            "timings": {name: timings[name] for name in selected},
            "gflops": {name: flops[name] / (timings[name]["median_ms"] * 1e6) for name in selected},
            "flops_per_image": sum(flops.values()) / BATCH,
            "step_floor_ms": step_ms,
            "epoch_floor_s": step_ms * EPOCH_IMAGES / BATCH / 1e3,
        }

    return {**floor(direct), "winograd": floor(ours)}


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
    ours = floor["winograd"]
    for selected, measured in (
        (training_step_gemms(), floor),
        (training_step_gemms(algorithm="winograd"), ours),
    ):
        for name, shape in selected.items():
            if name in floor["timings"] and measured is ours:
                continue  # listed once, above
            dims = "×".join(str(size) for size in shape[-3:])
            dims = f"{shape[0]} × ({dims})" if len(shape) == 4 else dims
            lines.append(
                f"| {name} ({dims}) | {format_timing(measured['timings'][name])} | {measured['gflops'][name]:.0f} |"
            )
    lines += [
        "",
        f"tinycnn computes the second convolution by Winograd's F(4x4, 3x3) (the rows marked so): "
        f"{ours['flops_per_image'] / 1e6:.1f} MFLOP per training image, and a floor of "
        f"**{ours['step_floor_ms']:.1f} ms** per step, **{ours['epoch_floor_s']:.1f} s** per epoch.",
    ]
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
