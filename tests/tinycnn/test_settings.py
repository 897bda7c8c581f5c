"""tinycnn.settings: one object, seeded from the environment once, changed only in code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinycnn
from tinycnn import settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_seeds_every_field():
    seeded = settings.from_environment(
        {
            "TINYCNN_BACKEND": "NumPy",
            "TINYCNN_CONV_ALGORITHM": " im2col ",
            "TINYCNN_FUSE": "no",
            "TINYCNN_WORKERS": "3",
        }
    )
    assert seeded == settings.Settings(backend="numpy", conv_algorithm="im2col", fuse=False, workers=3)


def test_defaults_without_variables():
    seeded = settings.from_environment({})
    assert (seeded.backend, seeded.conv_algorithm, seeded.fuse) == ("auto", "auto", True)
    assert seeded.workers == settings.available_cpus()


@pytest.mark.parametrize(
    ("environment", "workers"),
    [
        ({"OPENBLAS_NUM_THREADS": "1"}, 1),
        ({"OMP_NUM_THREADS": "3"}, 3),
        ({"MKL_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "2"}, 2),
        ({"TINYCNN_WORKERS": "5", "OPENBLAS_NUM_THREADS": "2"}, 5),
        ({"OPENBLAS_NUM_THREADS": "many"}, None),  # not a count: ignored
    ],
)
def test_workers_follow_the_blas_thread_variables(environment, workers):
    expected = workers if workers is not None else settings.available_cpus()
    assert settings.from_environment(environment).workers == expected


def test_numba_disable_jit_means_the_numpy_backend_unless_asked_otherwise():
    assert settings.from_environment({"NUMBA_DISABLE_JIT": "1"}).backend == "numpy"
    assert (
        settings.from_environment({"NUMBA_DISABLE_JIT": "1", "TINYCNN_BACKEND": "numba"}).backend == "numba"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TINYCNN_BACKEND", "cuda", "TINYCNN_BACKEND must be one of"),
        ("TINYCNN_CONV_ALGORITHM", "fft", "TINYCNN_CONV_ALGORITHM must be one of"),
        ("TINYCNN_WORKERS", "0", "TINYCNN_WORKERS must be a positive whole number"),
        ("TINYCNN_WORKERS", "two", "TINYCNN_WORKERS must be a positive whole number"),
        ("TINYCNN_WORKERS", "1.5", "TINYCNN_WORKERS must be a positive whole number"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(variable, value, message):
    with pytest.raises(ValueError, match=message):
        settings.from_environment({variable: value})


@pytest.mark.parametrize(
    "changes",
    [
        {"backend": "gpu"},
        {"conv_algorithm": "fft"},
        {"fuse": 1},
        {"workers": 0},
        {"workers": True},
        {"cores": 2},
    ],
)
def test_configure_rejects_what_makes_no_sense_and_changes_nothing(changes):
    before = settings.current()
    with pytest.raises((ValueError, TypeError)):
        settings.configure(**changes)
    assert settings.current() == before


def test_use_changes_settings_for_a_block_only():
    before = settings.current()
    with settings.use(workers=1, fuse=False) as inside:
        assert settings.current() == inside
        assert (inside.workers, inside.fuse) == (1, False)
        assert inside.conv_algorithm == before.conv_algorithm
    assert settings.current() == before
    with pytest.raises(RuntimeError), settings.use(conv_algorithm="im2col"):
        raise RuntimeError("restored even so")
    assert settings.current() == before


def test_changing_the_environment_later_changes_nothing(monkeypatch):
    """The variables seed the settings at import, and are never read again."""
    before = settings.current()
    monkeypatch.setenv("TINYCNN_WORKERS", str(before.workers + 3))
    monkeypatch.setenv("TINYCNN_CONV_ALGORITHM", "winograd")
    monkeypatch.setenv("TINYCNN_FUSE", "0")
    assert settings.current() == before
    model = tinycnn.Sequential([tinycnn.Conv2D(2, 3), tinycnn.ReLU()], input_shape=(12, 12, 8))
    assert "fused" in str(model.plan(8))  # TINYCNN_FUSE=0 was not read


def test_openblas_thread_timeout_is_set_before_numpy_loads():
    """Imported first, tinycnn sets OPENBLAS_THREAD_TIMEOUT (in one place: tinycnn.settings) before
    anything imports NumPy, unless it is set already."""
    code = (
        "import os, sys\n"
        "seen = []\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'numpy' and not seen:\n"
        "            seen.append(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
        "sys.meta_path.insert(0, Watch())\n"
        "import tinycnn\n"
        "print(seen[0])\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_THREAD_TIMEOUT"}
    for preset, expected in ((None, "16"), ("4", "4")):
        if preset is not None:
            env["OPENBLAS_THREAD_TIMEOUT"] = preset
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip() == expected, result.stderr[-2000:]
