"""What the app's notebook runs in each visitor's kernel before the pad: errors stay on the server.

A visitor's hand-made messages (a comm for an unknown target, a malformed widget update) make
ipykernel and ipywidgets log a traceback to the kernel's stderr, or print one with
`showtraceback`; in a Jupyter kernel both are published to the page, with the server's paths in
them. In the app they go to the kernel process's own stderr, which is the server's log.
"""

import io
import logging
import os
import sys
import traceback


def server_log_stream():
    """A text stream to the kernel process's original stderr: the server's log. (ipykernel watches
    file descriptor 2 itself and publishes what is written there, so sys.__stderr__ would reach
    the page too; it keeps a copy of the original descriptor, which does not.)"""
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    if original is None:
        return sys.__stderr__
    return io.TextIOWrapper(io.FileIO(os.dup(original), "w"), line_buffering=True)


def keep_tracebacks_in_the_server_log():
    """Send this kernel's stderr, its log and every traceback to the server's log instead of the page."""
    log = server_log_stream()
    sys.stderr = log
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not sys.__stdout__:
                handler.setStream(log)  # was the kernel's stderr stream, published to the page
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is not None:
        shell.showtraceback = lambda *args, **kwargs: traceback.print_exc(file=log)
