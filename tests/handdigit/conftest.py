"""Fixtures for the application tests: the shared MNIST copy (never the network)."""

import os

import pytest

from .helpers import SHARED_MNIST


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
