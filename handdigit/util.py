"""Small helpers shared by training, evaluation and the model card: files, and which code ran."""

import contextlib
import io
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from tinycnn.weights_file import write_atomic as tinycnn_write_atomic


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
    """Call writer(file) on a temporary file beside `path`, then rename it over `path`
    (tinycnn.weights_file.write_atomic); mode "w" gives the writer a UTF-8 text file, "wb" a binary one."""

    def write(binary):
        if "b" in mode:
            writer(binary)
            return
        text = io.TextIOWrapper(binary, encoding="utf-8", write_through=True)
        writer(text)
        text.detach()  # leave the binary file open for the flush and rename

    return Path(tinycnn_write_atomic(path, write))


def write_text_atomic(path, text):
    return write_atomic(path, lambda file: file.write(text))


def code_version(package_dir=None):
    """{"commit": the git commit of the checkout this package runs from, "uncommitted_changes":
    whether tracked files differ from it}, or None when it does not run from a git checkout of its
    own (an installed copy, no git): a run's history says which code trained it, so that its
    command can be repeated on that code."""
    package_dir = Path(package_dir or Path(__file__).resolve().parent)

    def git(*arguments):
        return subprocess.run(
            ["git", "-C", str(package_dir), *arguments],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        # A copy inside some other repository (a venv's site-packages) is not that repository's code.
        if top != package_dir.parent.resolve():
            return None
        commit = git("rev-parse", "HEAD")
        changed = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "uncommitted_changes": changed}
