"""Root pytest hooks: the notebooks (collected by nbmake) run in quick mode on the shared MNIST copy,
with the exercises' solutions filled in (HANDDIGIT_SOLUTIONS=1: see notebooks/exercises).

Only while a notebook runs are these variables set, so the application tests still see the
environment as a user would. One variable is set for the whole run: HANDDIGIT_USER_DIR, a fresh
temporary folder, so that no test (nor an app it starts) reads or writes the examples and taught
weights of the person running the tests.
"""

import os
import tempfile
from pathlib import Path

SHARED_MNIST = Path(__file__).resolve().parent.parent / "shared" / "datasets" / "mnist"
NOTEBOOK_ENVIRONMENT = {
    "HANDDIGIT_QUICK": "1",
    "HANDDIGIT_DATA": str(SHARED_MNIST),
    "HANDDIGIT_SOLUTIONS": "1",
}
_saved = {}


def pytest_configure(config):
    os.environ["HANDDIGIT_USER_DIR"] = tempfile.mkdtemp(prefix="handdigit-test-user-")
    os.environ.pop("HANDDIGIT_TEACH_IN_SESSION", None)


def pytest_runtest_setup(item):
    if item.path.suffix == ".ipynb":
        for name, value in NOTEBOOK_ENVIRONMENT.items():
            _saved[name] = os.environ.get(name)
            os.environ.setdefault(name, value)


def pytest_runtest_teardown(item):
    if item.path.suffix == ".ipynb":
        for name, value in _saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _saved.clear()
