"""`Recognizer.read_number` on numbers of 2-5 digits composed two ways (handdigit.evaluation.numbers):
MNIST test digits side by side, and digits drawn with Hershey vector fonts (a generator training
never used), both with varied sizes and gaps and some digits touching. Reports how many numbers
are read entirely right, by length, the time per number, and the first mistakes.

Usage: python benchmarks/read_numbers.py [--count 500] [--seed 2026]
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
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    from handdigit import Recognizer
    from handdigit.evaluation.numbers import evaluate_numbers

    report = evaluate_numbers(Recognizer.load(), args.count, args.seed)
    lines = ["# Reading numbers of several digits", ""]
    lines += [
        "| set | read entirely right | 2 digits | 3 | 4 | 5 | ms per number |",
        "|---|---|---|---|---|---|---|",
    ]
    for source, result in report.items():
        lengths = " | ".join(f"{right}/{count}" for right, count in result["by_length"].values())
        lines.append(
            f"| {source} | {result['right']}/{result['count']} ({result['right'] / result['count']:.1%}) | "
            f"{lengths} | {result['ms_per_number']:.0f} |"
        )
    lines.append("")
    for source, result in report.items():
        shown = ", ".join(f"{truth} read {text or 'nothing'}" for truth, text in result["wrong"][:12])
        lines.append(f"First mistakes ({source}): {shown}.")
    payload = {"machine": machine_facts(), "count": args.count, "seed": args.seed, **report}
    publish("read_numbers", payload, lines, "read_numbers.py")


if __name__ == "__main__":
    main()
