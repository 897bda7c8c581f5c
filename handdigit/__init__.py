"""HandDigit: draw a digit and watch a from-scratch CNN (tinycnn) recognise it.

    from handdigit import Recognizer
    Recognizer.load().predict("digit.png").digit

`import handdigit` stays light: NumPy only. The recognizer, Pillow, Numba, matplotlib and the
widgets load when first used.
"""

import os

# Before anything imports NumPy: OpenBLAS's idle threads sleep within ~20 us (see tinycnn's docstring).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")

__version__ = "0.1.0"

__all__ = ["Recognizer", "Prediction", "Explanation", "UnreadableImage", "DigitPad", "draw"]


def __getattr__(name):
    if name in ("Recognizer", "Prediction", "Explanation"):
        from handdigit import recognizer

        return getattr(recognizer, name)
    if name in ("DigitPad", "draw"):
        from handdigit import widget

        return getattr(widget, name)
    if name == "UnreadableImage":
        from handdigit.images import UnreadableImage

        return UnreadableImage
    raise AttributeError(f"module 'handdigit' has no attribute {name!r}")
