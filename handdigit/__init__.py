"""HandDigit: draw a digit and watch a from-scratch CNN (tinycnn) recognise it.

    from handdigit import Recognizer
    Recognizer.load().predict("digit.png").digit

The package follows the data, one stage per sub-package, each using only those before it:

    data -> training -> recognition -> evaluation (the weights measured, the model card) -> pad (widget, web app)

beside the definitions they share (`architecture`: the network; `preprocess`: MNIST's 28x28 format;
`plots`, `resources`, `util`) and the command line (`cli`) that reaches all of them.

`import handdigit` stays light: NumPy and tinycnn's settings. The recognizer, Pillow, Numba,
matplotlib and the widgets load when first used.
"""

import tinycnn.settings  # noqa: F401  first: it sets OPENBLAS_THREAD_TIMEOUT before NumPy loads

__version__ = "0.1.0"

__all__ = ["Recognizer", "Prediction", "Explanation", "UnreadableImage", "DigitPad", "draw"]


def __getattr__(name):
    if name in ("Recognizer", "Prediction", "Explanation"):
        from handdigit.recognition import recognizer

        return getattr(recognizer, name)
    if name in ("DigitPad", "draw"):
        from handdigit.pad import widget

        return getattr(widget, name)
    if name == "UnreadableImage":
        from handdigit.recognition.images import UnreadableImage

        return UnreadableImage
    raise AttributeError(f"module 'handdigit' has no attribute {name!r}")
