"""Stage 5, the drawing pad: what people draw on and see.

- `handdigit.pad.drawing`: the pad's model in plain Python (strokes, undo, clear, when to predict);
- `handdigit.pad.widget`: `DigitPad`, its view in Jupyter (ipywidgets, ipycanvas), talking to the
  Recognizer only; `handdigit.pad.panels` and `handdigit.pad.pictures` draw its two panels;
- `handdigit.pad.app`: the same widget as a web page (`handdigit app`, served by Voila).

    from handdigit import DigitPad
    DigitPad()

Importing this package loads no widget library; `DigitPad` and `draw` load them when first used.
"""


def __getattr__(name):
    if name in ("DigitPad", "draw"):
        from handdigit.pad import widget

        return getattr(widget, name)
    raise AttributeError(f"module 'handdigit.pad' has no attribute {name!r}")
