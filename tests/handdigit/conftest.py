"""Fixtures for the application tests: the shared MNIST copy (never the network)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPOSITORY.parent / "shared" / "datasets" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    if not SHARED_MNIST.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the shared MNIST copy at {SHARED_MNIST}")
        pytest.skip(f"no shared MNIST copy at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from handdigit.data import load_mnist

    return load_mnist(mnist_dir)


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
