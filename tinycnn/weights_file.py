"""Reading and writing .npz files safely: atomic writes, no pickle, clear errors.

A file written here never exists half-written under its final name: the arrays go to a temporary
file in the same directory, which is flushed to disk and then renamed over the target (a rename
within one file system is atomic). Reading never unpickles (`allow_pickle=False`), so a weights
file from someone else cannot run code.
"""

import math
import os
import tempfile
import zipfile

import numpy as np

from tinycnn.errors import WeightsFileError

TEMPORARY_PREFIX = ".tmp-"


def new_file_mode():
    """The mode `open()` gives a new file: 0666 less the process's umask (read from /proc, or by
    setting it and back where there is no /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def remove_stale_temporaries(directory):
    """Delete the temporary files a killed writer left in `directory` (a `kill -9` mid-save cannot
    clean up after itself); returns how many. Call it only where no other process is writing."""
    removed = 0
    for entry in os.scandir(directory) if os.path.isdir(directory) else ():
        if entry.name.startswith(TEMPORARY_PREFIX) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def write_atomic(path, writer):
    """Call writer(file) on a binary temporary file beside `path`, flush it to disk, then rename it
    over `path` (see the module docstring); returns the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=TEMPORARY_PREFIX, suffix=os.path.splitext(path)[1], dir=directory
    )
    try:
        os.fchmod(handle, new_file_mode())  # mkstemp makes 0600; a saved file follows the umask
        with os.fdopen(handle, "wb") as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def write_bytes_atomic(path, data):
    """Write `data` to `path` atomically; returns the path."""
    return write_atomic(path, lambda file: file.write(data))


def write_npz_atomic(path, arrays):
    """Write {name: array} to `path` (.npz, uncompressed) atomically; returns the path."""
    return write_atomic(path, lambda file: np.savez(file, **arrays))


MAX_MEMBERS = 4096
MAX_TOTAL_BYTES = 256 << 20  # 256 MiB of arrays: 9 times the reference model with its Adam state


def read_npz(path, max_bytes=MAX_TOTAL_BYTES):
    """{name: array} from an .npz file, without pickle; WeightsFileError if unreadable.

    Bounded before anything is allocated: at most MAX_MEMBERS arrays, each array's header must
    declare exactly the bytes its member holds, and all arrays together at most `max_bytes`. A
    small compressed file that would inflate to gigabytes, or a header declaring terabytes, is
    refused with one sentence instead of exhausting the memory."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsFileError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise WeightsFileError(
                    f"{path}: holds {len(members):,} arrays, more than the {MAX_MEMBERS:,} allowed"
                )
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise WeightsFileError(
                    f"{path}: its arrays declare {declared / 2**20:,.0f} MiB, more than the "
                    f"{max_bytes / 2**20:,.0f} MiB a weights file may hold"
                )
            return {_array_name(member.filename): _read_member(archive, member, path) for member in members}
    except WeightsFileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, NotImplementedError) as error:
        raise WeightsFileError(f"{path}: not a readable .npz file ({error})") from None


def _array_name(filename):
    return filename[: -len(".npy")] if filename.endswith(".npy") else filename


def _read_member(archive, member, path):
    """One .npy member, its header checked against the member's size before the data is read."""
    name = _array_name(member.filename)
    with archive.open(member) as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        elif version in ((2, 0), (3, 0)):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise WeightsFileError(f"{path}: array {name!r} has an unsupported .npy version {version}")
        if dtype.hasobject:
            raise WeightsFileError(f"{path}: array {name!r} holds Python objects, which are never loaded")
        data_bytes = member.file_size - file.tell()
        expected = math.prod(shape) * dtype.itemsize
        if expected != data_bytes:
            raise WeightsFileError(
                f"{path}: array {name!r} declares shape {shape} ({expected:,} bytes) but holds {data_bytes:,} bytes"
            )
        data = file.read(expected)
    if len(data) != expected:
        raise WeightsFileError(f"{path}: array {name!r} is truncated")
    array = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.copy()  # writable, like np.load's
