"""The benchmark scripts run as a user runs them (tiny settings, results in a temporary directory)
and write the JSON and Markdown their report is assembled from. Speed itself is never asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_script(script, *arguments, results, data=None):
    environment = {**os.environ, "BENCHMARK_RESULTS": str(results)}
    if data:
        environment["HANDDIGIT_DATA"] = str(data)
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    name = Path(script).stem
    return json.loads((results / f"{name}.json").read_text()), (results / f"{name}.md").read_text()


def test_machine_limit_writes_a_floor_from_the_networks_gemms(tmp_path):
    payload, report = run_script("machine_limit.py", "--repeats", "1", results=tmp_path)
    floor = payload["gemm_floor"]
    assert len(floor["timings"]) == 11
    assert floor["step_floor_ms"] == pytest.approx(sum(t["median_ms"] for t in floor["timings"].values()))
    assert floor["flops_per_image"] == pytest.approx(78.7e6, rel=0.01)
    assert "GEMM floor" in report or "cannot take less than" in report
    assert payload["machine"]["cores"] == os.cpu_count()


def test_step_profile_accounts_for_every_model_step(tmp_path, mnist_dir):
    payload, report = run_script(
        "step_profile.py", "--steps", "2", "--repeats", "1", results=tmp_path, data=mnist_dir
    )
    steps = [row["step"] for row in payload["rows"]]
    assert steps[:2] == ["Conv2D + ReLU", "Conv2D + ReLU + MaxPool2D"]  # the fused blocks
    assert [row["gemm_floor_ms"] > 0 for row in payload["rows"]].count(True) == 4  # 2 convs, 2 dense
    parts = sum(row["forward_ms"] + row["backward_ms"] for row in payload["rows"])
    assert 0 < parts <= payload["step_ms"]
    assert "Whole step" in report


def test_report_is_rebuilt_from_results(tmp_path):
    """run_all --report-only assembles REPORT.md and its plot from the results directory."""
    committed = BENCHMARKS / "results"
    for path in committed.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    for path in committed.glob("*.md"):
        if path.name != "REPORT.md":
            (tmp_path / path.name).write_text(path.read_text())
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--report-only"],
        capture_output=True,
        text=True,
        env={**os.environ, "BENCHMARK_RESULTS": str(tmp_path)},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = (tmp_path / "REPORT.md").read_text()
    for heading in ("## Training", "## Where a training step goes", "## Inference", "## Cold start"):
        assert heading in report
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_rule_views_times_predict_with_and_without_the_views(tmp_path, mnist_dir):
    payload, report = run_script(
        "rule_views.py", "--count", "4", "--rounds", "2", results=tmp_path, data=mnist_dir
    )
    assert set(payload["proxies"]) == {
        "mnist-test",
        "typed-pen",
        "tablet-8",
        "thick-scan",
        "hershey-letters",
        "pictograms",
    }
    for result in payload["proxies"].values():
        assert 0 <= result["through_views"] <= 1
        assert (
            result["ratio"]["min"] > 0 and result["views"]["median"] > 0 and result["one view"]["median"] > 0
        )
    assert "| tablet-8 |" in report and "ratio views / one view" in report
