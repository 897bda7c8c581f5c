"""Handlers of a visitor's events (pen, buttons, uploads) that never show them a traceback.

ipywidgets would print an exception raised by a handler into the page, with the server's paths in
it; here the error goes to the server's log and the visitor gets one plain sentence, shown by the
widget's own `tell(widget, sentence)`.
"""

import functools
import logging

LOG = logging.getLogger("handdigit.pad")
EVENT_FAILED = "Something went wrong with that; please try again."


def visitor_event(tell):
    """A decorator for a widget's event handlers: an unexpected error is logged and `tell(widget,
    EVENT_FAILED)` says so; the handler then returns None."""

    def decorate(handler):
        @functools.wraps(handler)
        def guarded(self, *args, **kwargs):
            try:
                return handler(self, *args, **kwargs)
            except Exception:
                LOG.exception("DigitPad: %s failed", handler.__name__)
                tell(self, EVENT_FAILED)
                return None

        return guarded

    return decorate
