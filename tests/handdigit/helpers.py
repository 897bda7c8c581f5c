"""Helpers for the application tests."""

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPOSITORY.parent / "shared" / "datasets" / "mnist"


def run_handdigit(*arguments, timeout=600, **kwargs):
    """Run the `handdigit` command as a user would (a fresh process), capturing its output."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **kwargs.pop("env", {})}
    environment.pop("HANDDIGIT_DATA", None)
    return subprocess.run(
        [sys.executable, "-m", "handdigit", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        **kwargs,
    )
