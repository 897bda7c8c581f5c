"""The notebooks as a learner first opens them, every exercise unwritten: each runs top to bottom,
each check says "not written yet" and the cells after it run on the library's version. (CI's
notebook run, through nbmake, fills the solutions in instead: HANDDIGIT_SOLUTIONS=1.)"""

from pathlib import Path

import pytest

from exercises import EXERCISES

from ..handdigit.helpers import SHARED_MNIST

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.parametrize("number", sorted({notebook for notebook, _ in EXERCISES.values()}))
def test_a_notebook_with_every_exercise_unwritten_runs_to_the_end(number, monkeypatch):
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"no shared MNIST copy at {SHARED_MNIST}")
    path = next(NOTEBOOKS.glob(f"{number}-*.ipynb"))
    monkeypatch.setenv("HANDDIGIT_QUICK", "1")
    monkeypatch.setenv("HANDDIGIT_SOLUTIONS", "0")
    monkeypatch.setenv("HANDDIGIT_DATA", str(SHARED_MNIST))
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    printed = "".join(
        "".join(output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    for name, (notebook_number, _) in EXERCISES.items():
        if notebook_number == number:
            assert f"✗ {name}: not written yet" in printed
    assert printed.count("The cells below use the library's version until yours passes.") == sum(
        notebook_number == number for notebook_number, _ in EXERCISES.values()
    )
