"""Where the shipped files are, in an editable checkout and in an installed package alike."""

from importlib import resources
from pathlib import Path

SHIPPED_WEIGHTS = "handdigit-cnn.npz"
MODEL_CARD = "model-card.json"


def weights_directory():
    """The directory of the shipped weights (the repository's `weights/`, packaged as handdigit.weights).

    In a checkout, the `weights/` beside this `handdigit/`: an editable install maps
    handdigit.weights to the checkout it was installed from, so a second checkout (a git worktree)
    run with its own code on PYTHONPATH would otherwise read the first one's weights."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "weights" / SHIPPED_WEIGHTS).is_file():
        return checkout / "weights"
    return Path(str(resources.files("handdigit.weights")))


def shipped_weights_path():
    path = weights_directory() / SHIPPED_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped weights {path} are missing; reinstall HandDigit or pass --weights FILE"
        )
    return path
