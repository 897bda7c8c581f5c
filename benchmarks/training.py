"""Training: one epoch of the seed recipe (batch 128, Adam, 42,000 images), HandDigit vs PyTorch
vs Keras, interleaved (epoch 1 of each, then epoch 2 of each, ...) so all see the same machine load.

Reports each contender's steady epochs (the first, with its warm-up, left out): median and
min-max seconds of the training part (no validation), images/s, and peak resident memory; and
the GEMM floor of the same epoch measured in the same run (benchmarks/machine_limit.py).
Usage: python benchmarks/training.py [--epochs N] [--contenders tinycnn,torch,keras]
"""

import argparse
import os
import statistics
import sys

# First, as for any tinycnn user: tinycnn.settings sets OPENBLAS_THREAD_TIMEOUT before NumPy loads.
import tinycnn.settings  # noqa: F401

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_facts, publish  # noqa: E402
from contenders import CONTENDERS  # noqa: E402
from machine_limit import measure_gemm_floor  # noqa: E402
from worker import TRAIN_IMAGES  # noqa: E402
from workers import start_workers  # noqa: E402


def run(names, epochs, images=TRAIN_IMAGES):
    workers, notes = start_workers(names, images)
    epochs_by = {name: [] for name in workers}
    try:
        for epoch in range(epochs):
            for name, worker in workers.items():
                # CPU time of every process around the epoch: the contender's own (how many cores it
                # kept busy) and the idle ones' (threads that spin while another contender works).
                before = {other: w.ask(do="cpu")["cpu_seconds"] for other, w in workers.items()}
                reply = worker.ask(do="epoch")
                after = {other: w.ask(do="cpu")["cpu_seconds"] for other, w in workers.items()}
                reply["cores_busy"] = (after[name] - before[name]) / reply["seconds"]
                reply["idle_others_cpu_s"] = sum(after[o] - before[o] for o in workers if o != name)
                epochs_by[name].append(reply)
                print(
                    f"epoch {epoch + 1} {name}: {reply['seconds']:.1f} s, loss {reply['loss']:.4f}, "
                    f"{reply['cores_busy']:.2f} cores busy, idle contenders used {reply['idle_others_cpu_s']:.1f} "
                    "CPU s",
                    flush=True,
                )
    finally:
        for worker in workers.values():
            worker.close()
    floor = measure_gemm_floor()
    floor["epoch_floor_s"] *= images / TRAIN_IMAGES  # the floor of the epoch actually run
    floor["winograd"]["epoch_floor_s"] *= images / TRAIN_IMAGES
    results = {}
    for name, records in epochs_by.items():
        steady = [r["seconds"] for r in records[1:]] or [records[0]["seconds"]]
        median = statistics.median(steady)
        results[name] = {
            "label": CONTENDERS[name].name,
            "epoch_seconds": [r["seconds"] for r in records],
            "steady_median_s": median,
            "steady_min_s": min(steady),
            "steady_max_s": max(steady),
            "images_per_s": images / median,
            "peak_rss_mib": max(r["max_rss_mib"] for r in records),
            "final_loss": records[-1]["loss"],
            "final_accuracy": records[-1]["accuracy"],
            "cores_busy": [r["cores_busy"] for r in records],
            "idle_others_cpu_s": [r["idle_others_cpu_s"] for r in records],
        }
    return results, floor, notes


def markdown(results, floor, notes, epochs, images=TRAIN_IMAGES):
    lines = [
        "# Training: one epoch of the seed recipe",
        "",
        f"{images:,} MNIST images, batch 128, Adam (lr 1e-3, eps 1e-7), no validation; {epochs} epochs each, "
        "interleaved; the first epoch (warm-up) left out of the median.",
        "",
        "| contender | steady epoch, median (min–max) | images/s | vs GEMM floor | peak memory | cores busy |",
        "|---|---|---|---|---|---|",
    ]
    for result in results.values():
        busy = result["cores_busy"][1:] or result["cores_busy"]
        lines.append(
            f"| {result['label']} | {result['steady_median_s']:.1f} s ({result['steady_min_s']:.1f}–"
            f"{result['steady_max_s']:.1f}) | {result['images_per_s']:,.0f} | "
            f"{result['steady_median_s'] / floor['epoch_floor_s']:.2f}x | {result['peak_rss_mib']:,.0f} MiB | "
            f"{min(busy):.2f}–{max(busy):.2f} |"
        )
    stolen = max(max(result["idle_others_cpu_s"]) for result in results.values())
    lines += [
        "",
        "*Cores busy*: the contender's CPU time over its epoch's wall time (2.00 = both cores all the "
        f"time). The idle contenders' processes used at most {stolen:.1f} CPU seconds during any "
        "other's epoch.",
    ]
    for result in results.values():
        slow = [
            (seconds, busy)
            for seconds, busy in zip(result["epoch_seconds"][1:], result["cores_busy"][1:], strict=True)
            if busy < 1.5
        ]
        if slow:
            lines += [""]
            lines.append(
                f"**Note:** {result['label']} kept fewer than 1.5 cores busy in {len(slow)} of "
                f"{len(result['epoch_seconds']) - 1} steady epochs ({', '.join(f'{s:.1f} s' for s, _ in slow)}): "
                "its own threads left a core idle, so its median is partly a one-core figure."
            )
    lines += [
        "",
        f"GEMM floor of the same epoch, measured in this run: **{floor['epoch_floor_s']:.1f} s** for "
        "direct convolutions (the column above); the GEMMs tinycnn runs, its second convolution by "
        f"Winograd's F(4x4, 3x3), take **{floor['winograd']['epoch_floor_s']:.1f} s**.",
    ]
    if "tinycnn" in results:
        ours = results["tinycnn"]["steady_median_s"]
        peers = {name: r for name, r in results.items() if name != "tinycnn"}
        if peers:
            fastest = min(peers.values(), key=lambda r: r["steady_median_s"])
            lines.append(
                f"HandDigit / the faster peer ({fastest['label']}): **{ours / fastest['steady_median_s']:.2f}x** "
                "(target: at most 1.0x)."
            )
        lines.append(
            f"HandDigit / GEMM floor: **{ours / floor['epoch_floor_s']:.2f}x** (stretch target: 1.3x); "
            f"HandDigit / its own GEMMs: {ours / floor['winograd']['epoch_floor_s']:.2f}x."
        )
    lines += [""] + [f"- {note}" for note in notes]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--contenders", default="tinycnn,torch,keras")
    parser.add_argument(
        "--images", type=int, default=TRAIN_IMAGES, help="images per epoch (a smaller smoke run)"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.contenders.split(",") if name.strip()]
    results, floor, notes = run(names, args.epochs, args.images)
    payload = {
        "benchmark": "training",
        "machine": machine_facts(),
        "epochs": args.epochs,
        "results": results,
        "images": args.images,
        "gemm_floor_s": floor["epoch_floor_s"],
        "winograd_gemm_floor_s": floor["winograd"]["epoch_floor_s"],
        "notes": notes,
    }
    lines = markdown(results, floor, notes, args.epochs, args.images)
    return publish("training", payload, lines, f"training.py --epochs {args.epochs}")


if __name__ == "__main__":
    main()
