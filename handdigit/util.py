"""Small file helpers shared by training, evaluation and the model card."""

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from tinycnn.weights_file import TEMPORARY_PREFIX, new_file_mode


class OutputLocationError(ValueError):
    """A place the user asked us to write to that cannot take files; the message says why."""


def check_output_directory(path, option):
    """Make sure `path` is (or can become) a directory we can write in, before any work starts;
    OutputLocationError naming `option` (e.g. "--out") otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputLocationError(f"{option} {path}: is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise OutputLocationError(f"{option} {path}: cannot write there ({reason})") from None
    return path


@contextlib.contextmanager
def interrupts_deferred():
    """Hold back Ctrl-C (SIGINT) while the block runs; it arrives right after, if it came.

    Keeps a group of files that belong together (a checkpoint and its weights) from being cut in
    half. The operating system hands a process's SIGINT to any of its threads that does not block
    it (OpenBLAS's, Numba's, the chunk workers'), so masking it in the main thread is not enough;
    but Python runs every signal handler in the main thread, between two bytecodes. So for the
    block the handler only notes the interrupt, and the previous handler gets it once the block is
    over. Does nothing off the main thread, or where Ctrl-C is ignored (a background job).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN: nothing to defer; SIG_DFL or None: not Python's to handle
        yield
        return
    interrupted = []
    signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        previous(signal.SIGINT, interrupted[-1])  # Python's default handler raises KeyboardInterrupt


def write_atomic(path, writer, mode="w"):
    """Call writer(file) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        os.fchmod(handle, new_file_mode())  # mkstemp makes 0600; a saved file follows the umask
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
