"""Test-wide settings: Hypothesis profiles ("default" locally, "ci" when the CI variable is true),
and the shared MNIST copy's directory (never the network)."""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.handdigit.helpers import SHARED_MNIST

# Numba compiles each kernel on first use (seconds), so no per-example deadline; a modest number
# of examples keeps the whole suite well under a few minutes on two cores.
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI: the same budget, but derandomized so that a red build reproduces exactly.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# On demand, to search harder: pytest --hypothesis-profile=thorough
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI", "").strip().lower() == "true" else "default")


@pytest.fixture(scope="session")
def mnist_dir():
    """The shared MNIST copy; skipped without it, but a failure in CI, which must have it."""
    if not SHARED_MNIST.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the shared MNIST copy at {SHARED_MNIST}")
        pytest.skip(f"no shared MNIST copy at {SHARED_MNIST}")
    return SHARED_MNIST
