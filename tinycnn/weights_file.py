"""Reading and writing .npz files safely: atomic writes, no pickle, clear errors.

A file written here never exists half-written under its final name: the arrays go to a temporary
file in the same directory, which is flushed to disk and then renamed over the target (a rename
within one file system is atomic). Reading never unpickles (`allow_pickle=False`), so a weights
file from someone else cannot run code.
"""

import os
import tempfile
import zipfile

import numpy as np

from tinycnn.errors import WeightsFileError


def write_npz_atomic(path, arrays):
    """Write {name: array} to `path` (.npz, uncompressed) atomically; returns the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def read_npz(path):
    """{name: array} from an .npz file, loaded eagerly without pickle; WeightsFileError if unreadable."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsFileError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise WeightsFileError(f"{path}: not a readable .npz file ({error})") from None
