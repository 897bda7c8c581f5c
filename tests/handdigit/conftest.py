"""Fixtures for the application tests: MNIST loaded from the shared copy (never the network;
`mnist_dir` is in tests/conftest.py)."""

import pytest


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from handdigit.data import load_mnist

    return load_mnist(mnist_dir)
