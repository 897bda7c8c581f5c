"""The drawing pad as a static web page: the network, the preprocessing and the not-a-digit rule run
in the visitor's browser, so any static web server (or a double-click on index.html) serves any
number of visitors, with no Python behind it.

    from handdigit.web import export_web
    export_web("site/")                  # site/index.html and what it needs; see handdigit.web.export

The page's code lives in handdigit/web/page/ (plain JavaScript, no build step, no dependency):
preprocess.js (handdigit.preprocess, ported), network.js (the forward pass and the Recognizer's
rule), pad.js (the pad: strokes, buttons, upload, answer). The exporter adds model.js, the weights.
"""

from handdigit.web.export import PRECISIONS, WebExportError, export_web

__all__ = ["PRECISIONS", "WebExportError", "export_web"]
