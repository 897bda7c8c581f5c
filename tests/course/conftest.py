"""The course's exercises live beside the notebooks (notebooks/exercises), which import them from
their own folder; the tests import them from there too."""

import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))
