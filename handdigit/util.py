"""Small file helpers shared by training, evaluation and the model card."""

import os
import tempfile
from pathlib import Path


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
