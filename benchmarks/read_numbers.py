"""`Recognizer.read_number` on numbers of 2-5 digits composed two ways (handdigit.evaluation.numbers):
MNIST test digits side by side, and digits drawn with Hershey vector fonts (a generator training
never used), both with varied sizes and gaps and some digits touching. Reports how many numbers
are read entirely right, by length, the time per number, and the first mistakes, for each of three
seeds (2026 was never used to choose read_number's constants until its first 300 MNIST numbers
checked the straight cut between touching round digits; 7 and 11 were) and in all. For the
MNIST numbers also: of those whose every digit the network reads right on its own, how many are
read entirely right (the segmentation's share of the mistakes).

Usage: python benchmarks/read_numbers.py [--count 500] [--seeds 2026 2027 2028]
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine_facts, publish  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026, 2027, 2028])
    args = parser.parse_args()

    from handdigit import Recognizer
    from handdigit.data import load_mnist
    from handdigit.evaluation.numbers import evaluate_numbers

    recognizer, mnist = Recognizer.load(), load_mnist()
    reports = {seed: evaluate_numbers(recognizer, args.count, seed, mnist=mnist) for seed in args.seeds}
    lines = ["# Reading numbers of several digits", ""]
    lines += [
        "| set | seed | read entirely right | 2 digits | 3 | 4 | 5 | digits read right alone: numbers right | ms per number |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    totals = {}
    for seed, report in reports.items():
        for source, result in report.items():
            lengths = " | ".join(f"{right}/{count}" for right, count in result["by_length"].values())
            alone = result.get("alone")
            alone_text = f"{alone[0]}/{alone[1]} ({alone[0] / alone[1]:.1%})" if alone else "-"
            lines.append(
                f"| {source} | {seed} | {result['right']}/{result['count']} "
                f"({result['right'] / result['count']:.1%}) | {lengths} | {alone_text} | "
                f"{result['ms_per_number']:.0f} |"
            )
            total = totals.setdefault(source, [0, 0, 0, 0])
            total[0] += result["right"]
            total[1] += result["count"]
            if alone:
                total[2] += alone[0]
                total[3] += alone[1]
    for source, (right, count, alone_right, alone_count) in totals.items():
        alone_text = f"{alone_right}/{alone_count} ({alone_right / alone_count:.1%})" if alone_count else "-"
        lines.append(
            f"| **{source}, all** | | **{right}/{count} ({right / count:.1%})** | | | | | {alone_text} | |"
        )
    lines.append("")
    for source, result in reports[args.seeds[0]].items():
        shown = ", ".join(f"{truth} read {text or 'nothing'}" for truth, text in result["wrong"][:12])
        lines.append(f"First mistakes ({source}, seed {args.seeds[0]}): {shown}.")
    payload = {"machine": machine_facts(), "count": args.count, "reports": reports}
    publish("read_numbers", payload, lines, "read_numbers.py")


if __name__ == "__main__":
    main()
