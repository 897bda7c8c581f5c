"""Test-wide settings: Hypothesis profiles ("default" locally, "ci" when the CI variable is true)."""

import os

from hypothesis import HealthCheck, settings

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
