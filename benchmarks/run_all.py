"""Every benchmark in one run, one after another, then one report: benchmarks/results/REPORT.md
(with plots) plus each benchmark's own JSON and Markdown.

Usage: python benchmarks/run_all.py [--quick] [--report-only]
(--quick: fewer epochs and rounds, for a look; --report-only: rebuild the report from results/)
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, machine_facts  # noqa: E402

HERE = Path(__file__).resolve().parent
OKABE_ITO = {"tinycnn": "#E69F00", "torch": "#0072B2", "keras": "#009E73"}


def run(script, *arguments):
    print(f"\n=== {script} {' '.join(arguments)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *arguments], check=True)
    return json.loads((RESULTS / f"{Path(script).stem}.json").read_text())


def plot(training, inference, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (epochs_axis, latency_axis, throughput_axis) = plt.subplots(1, 3, figsize=(14, 4.8))
    names = list(training["results"])
    for name in names:
        result = training["results"][name]
        epochs_axis.plot(
            range(1, len(result["epoch_seconds"]) + 1),
            result["epoch_seconds"],
            "o-",
            color=OKABE_ITO[name],
            label=result["label"],
        )
    epochs_axis.axhline(training["gemm_floor_s"], color="#555", linestyle="--", label="GEMM floor (direct)")
    if "winograd_gemm_floor_s" in training:
        epochs_axis.axhline(
            training["winograd_gemm_floor_s"],
            color="#555",
            linestyle=":",
            label="GEMM floor (tinycnn's Winograd)",
        )
    epochs_axis.set(xlabel="epoch (interleaved)", ylabel="seconds (42,000 images)", title="Training epoch")
    epochs_axis.set_ylim(bottom=0)
    epochs_axis.set_xticks(range(1, max(len(r["epoch_seconds"]) for r in training["results"].values()) + 1))
    epochs_axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    peers = list(inference["results"])
    labels = [inference["results"][n]["label"] for n in peers]
    colours = [OKABE_ITO[n] for n in peers]
    latency_axis.bar(labels, [inference["results"][n]["latency_median_ms"] for n in peers], color=colours)
    latency_axis.set(ylabel="ms (median)", title="One image, network alone")
    throughput_axis.bar(labels, [inference["results"][n]["throughput_median"] for n in peers], color=colours)
    throughput_axis.set(ylabel="images/s (median)", title="10,000 images, batch 128")
    for axis in (latency_axis, throughput_axis):
        axis.tick_params(axis="x", labelsize=8)
    for axis in (epochs_axis, latency_axis, throughput_axis):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


SECTIONS = ("training", "step_profile", "inference", "cold_start", "machine_limit", "conv_layer")


def write_report():
    """REPORT.md and report.png from the benchmarks' latest JSON and Markdown in results/."""
    training, inference = (
        json.loads((RESULTS / f"{name}.json").read_text()) for name in ("training", "inference")
    )
    plot(training, inference, RESULTS / "report.png")
    facts = {**machine_facts(), "date": training["machine"]["date"]}  # the date of the runs
    sections = [
        "# HandDigit benchmark report",
        "",
        f"{facts['date']}: {facts['cpu']}, {facts['cores']} cores; Python {facts['python']}, NumPy {facts['numpy']} "
        f"({facts['blas']}), Numba {facts['numba']} ({facts['numba_threads']} threads, {facts['numba_threading_layer']} "
        f"layer), PyTorch {facts.get('torch')}; every contender runs with 2 threads (OMP/OpenBLAS/MKL/Numba/TF "
        "thread variables set to 2, torch.set_num_threads(2); tinycnn's chunk workers follow OpenBLAS's count: "
        f"{facts['tinycnn_chunk_workers']}).",
        "",
        "![training epochs, latency and throughput](report.png)",
        "",
    ]
    for name in SECTIONS:
        text = (RESULTS / f"{name}.md").read_text()
        sections.append("#" + text.replace("\n# ", "\n## ") if text.startswith("# ") else text)
        measured = json.loads((RESULTS / f"{name}.json").read_text()).get("machine", {}).get("date")
        if measured:  # benchmarks rerun on their own carry their own date
            sections.append(f"*Measured {measured}.*\n")
    sections.append("Reproduce everything: `.venv/bin/python benchmarks/run_all.py`\n")
    (RESULTS / "REPORT.md").write_text("\n".join(sections))
    print(f"\nwritten: {RESULTS / 'REPORT.md'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild REPORT.md and its plot from the results already there",
    )
    args = parser.parse_args()
    quick = args.quick
    if not args.report_only:
        run("machine_limit.py", "--repeats", "5" if quick else "9")
        run("conv_layer.py", "--repeats", "5" if quick else "15")
        run("training.py", "--epochs", "2" if quick else "4")
        run("inference.py", "--rounds", "1" if quick else "3")
        run("cold_start.py", "--rounds", "2" if quick else "5")
        run("step_profile.py", "--steps", "20" if quick else "60")
    write_report()


if __name__ == "__main__":
    main()
