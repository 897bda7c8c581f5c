"""Small file helpers shared by training, evaluation and the model card."""

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path


@contextlib.contextmanager
def interrupts_deferred():
    """Hold back Ctrl-C (SIGINT) while the block runs; it arrives right after, if it came.

    Keeps a group of files that belong together (a checkpoint and its weights) from being cut in
    half. Does nothing off the main thread (only the main thread may install signal handlers).

    The signal is caught and replayed rather than masked. A SIGINT that the main thread masks is
    delivered to another thread (Numba's or OpenBLAS's workers) instead; once in CI a Ctrl-C sent
    right after a checkpoint was then never raised and training ran to its end. The cause was not
    pinned down (a local experiment did not lose one), so the signal now never leaves the main
    thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def write_atomic(path, writer, mode="w"):
    """Call writer(file) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(handle, mode) as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path, text):
    return write_atomic(path, lambda file: file.write(text))
