"""The package's layout: the import paths README names keep working, and data flows one way (each
stage imports only the stages before it and the shared modules)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "handdigit"
STAGES = ["data", "training", "recognition", "evaluation", "pad", "web"]  # in the order data flows
SHARED = {"architecture", "preprocess", "plots", "resources", "util"}


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("handdigit.training", "Trainer"),
        ("handdigit.training", "TrainConfig"),
        ("handdigit.evaluation", "evaluate_weights"),
        ("handdigit.preprocess", "rasterize"),
        ("handdigit.data", "load_mnist"),
        ("handdigit", "Recognizer"),
        ("handdigit", "UnreadableImage"),
        ("handdigit", "DigitPad"),
        ("handdigit.model_card", "write_model_card"),
    ],
)
def test_the_import_paths_readme_names_still_work(module, name):
    imported = __import__(module, fromlist=[name])
    assert getattr(imported, name) is not None


def test_handdigit_model_card_is_the_evaluation_stage_s_module():
    import handdigit.evaluation.model_card
    import handdigit.model_card

    assert handdigit.model_card is handdigit.evaluation.model_card


def test_python_m_handdigit_model_card_runs_it():
    result = subprocess.run(
        [sys.executable, "-m", "handdigit.model_card", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: python -m handdigit.model_card" in result.stdout and "RUN_DIR" in result.stdout.upper()


def imported_handdigit_modules(path):
    """The handdigit modules a source file imports (first component after `handdigit.`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("handdigit"):
            parts = node.module.split(".")
            names.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            names.update(
                alias.name.split(".")[1] for alias in node.names if alias.name.startswith("handdigit.")
            )
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_imports_only_earlier_stages_and_shared_modules(stage):
    allowed = SHARED | set(STAGES[: STAGES.index(stage) + 1])
    for path in sorted((PACKAGE / stage).glob("*.py")):
        wrong = imported_handdigit_modules(path) - allowed
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}, a later stage"


def test_shared_modules_import_no_stage():
    for name in SHARED:
        wrong = imported_handdigit_modules(PACKAGE / f"{name}.py") - SHARED
        assert not wrong, f"handdigit/{name}.py imports {sorted(wrong)}"
