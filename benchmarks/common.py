"""Shared benchmark plumbing: interleaved timing, machine facts, and writing JSON + Markdown."""

import json
import os
import platform
import statistics
import time
from pathlib import Path

# Where results go; BENCHMARK_RESULTS redirects them (the smoke tests do, to leave the committed ones alone).
RESULTS = Path(os.environ.get("BENCHMARK_RESULTS") or Path(__file__).parent / "results")


def interleaved(contenders, repeats, warmup=2):
    """Time each callable `repeats` times, round-robin so all see the same machine load.

    contenders: {name: callable}. Returns {name: {"median_ms", "min_ms", "max_ms", "runs"}}.
    """
    for _ in range(warmup):
        for function in contenders.values():
            function()
    samples = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, function in contenders.items():
            started = time.perf_counter()
            function()
            samples[name].append((time.perf_counter() - started) * 1e3)
    return {
        name: {
            "median_ms": statistics.median(values),
            "min_ms": min(values),
            "max_ms": max(values),
            "runs": len(values),
        }
        for name, values in samples.items()
    }


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts():
    """CPU, cores, library versions and thread settings, recorded with every result."""
    import numpy

    from tinycnn import settings
    from tinycnn.kernels.dispatch import load_numba

    numba = load_numba()  # with the threading layer tinycnn runs with

    facts = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "tinycnn_chunk_workers": settings.current().workers,
        "blas": _blas_description(),
        "env": {
            key: os.environ[key]
            for key in sorted(os.environ)
            if key.endswith("_NUM_THREADS") or key.startswith("OPENBLAS") or key == "TINYCNN_WORKERS"
        },
    }
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["torch_threads"] = torch.get_num_threads()
    except ImportError:
        facts["torch"] = None
    return facts


def _blas_description():
    try:
        import numpy

        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - a description only
        return "unknown"


def write_results(name, payload, markdown):
    """benchmarks/results/NAME.json and NAME.md."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    return RESULTS / f"{name}.md"


def publish(name, payload, lines, command):
    """Write NAME.json and NAME.md (the lines, then how to reproduce them) and print the report."""
    lines = [*lines, "", f"Reproduce: `.venv/bin/python benchmarks/{command}`", ""]
    path = write_results(name, payload, "\n".join(lines))
    print("\n".join(lines))
    print(f"written: {path}")
    return payload


def format_timing(timing):
    return f"{timing['median_ms']:.2f} ms ({timing['min_ms']:.2f}–{timing['max_ms']:.2f})"
