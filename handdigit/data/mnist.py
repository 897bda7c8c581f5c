"""MNIST: find it, download it if needed, verify it, parse it strictly.

Where the four IDX files come from, first match wins:
1. `data_dir` passed by the caller (the CLI's `--data-dir`);
2. the environment variable `HANDDIGIT_DATA`;
3. the per-user cache (`~/.cache/handdigit/mnist`, or `$HANDDIGIT_CACHE/mnist`), filled from the
   standard mirrors on first use by pooch (downloads go to a temporary file that is renamed into
   place, are retried, and show a progress bar).
A directory may hold the files gzip-compressed (`*.gz`, as published) or decompressed.

Every file is checked: the SHA-256 of its decompressed bytes against the published value, then
the IDX header (magic number, element type, rank, sizes) against the data's length, then the
labels (0..9, one per image). Any failure raises `MnistError` naming the file and what to do.
"""

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENVIRONMENT_VARIABLE = "HANDDIGIT_DATA"
CACHE_VARIABLE = "HANDDIGIT_CACHE"

MAX_IDX_BYTES = 64 << 20  # train-images-idx3-ubyte is 47,040,016 bytes

# SHA-256 of the decompressed IDX bytes (the gzip wrappers differ between mirrors; contents do not).
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
EXPECTED_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MnistError(RuntimeError):
    """MNIST could not be found, downloaded, verified or parsed; the message says what to do."""


@dataclass(frozen=True)
class Mnist:
    """The four arrays: images (N, 28, 28) uint8 (0 = background, 255 = ink), labels (N,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    @property
    def sha256(self):
        """The verified checksums, for model cards."""
        return dict(FILES)


def parse_idx(data, name):
    """Parse IDX bytes into an array, strictly: magic, rank, sizes and length must all agree."""
    if len(data) < 4:
        raise MnistError(f"{name}: truncated: {len(data)} bytes, not even an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise MnistError(f"{name}: not an IDX file (magic number {data[:4].hex()})")
    rank = data[3]
    header_size = 4 + 4 * rank
    if rank == 0 or len(data) < header_size:
        raise MnistError(f"{name}: truncated or corrupt IDX header (rank {rank}, {len(data)} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", count=rank, offset=4))
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = header_size + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise MnistError(f"{name}: {problem}: header says {shape} -> {expected} bytes, file has {len(data)}")
    return np.frombuffer(data, dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_file(path, expected_sha256=None):
    """Read an IDX file (gzip-compressed or not), parse it, and verify its checksum."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            compressed = file.read(2) == b"\x1f\x8b"
            file.seek(0)
            source = gzip.GzipFile(fileobj=file) if compressed else file
            data = source.read(MAX_IDX_BYTES + 1)  # MNIST's largest file is 47 MB
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise MnistError(f"{path}: cannot be read or decompressed ({error})") from None
    if len(data) > MAX_IDX_BYTES:
        raise MnistError(
            f"{path}: {'decompresses to' if compressed else 'is'} more than {MAX_IDX_BYTES >> 20} MiB, "
            "far more than an MNIST file (a damaged file or a decompression bomb); delete it"
        )
    array = parse_idx(data, str(path))
    if expected_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            raise MnistError(
                f"{path}: checksum mismatch (SHA-256 of the decompressed bytes is {digest[:16]}..., "
                f"expected {expected_sha256[:16]}...): the file is damaged or not the MNIST file; "
                "delete it and fetch it again"
            )
    return array


def cache_dir():
    """Where downloaded MNIST files are kept."""
    root = os.environ.get(CACHE_VARIABLE)
    if root:
        return Path(root) / "mnist"
    import pooch

    return Path(pooch.os_cache("handdigit")) / "mnist"


def _find(directory, name):
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def download(name, directory, mirrors=MIRRORS, progressbar=True):
    """Fetch `name`.gz into `directory` from the first mirror that serves a verified copy."""
    import pooch

    errors = []
    for mirror in mirrors:
        fetcher = pooch.create(
            path=directory, base_url=mirror, registry={f"{name}.gz": None}, retry_if_failed=2
        )
        try:
            path = Path(fetcher.fetch(f"{name}.gz", progressbar=progressbar))
        except Exception as error:  # noqa: BLE001 - network errors come in many types; try the next mirror
            errors.append(f"{mirror}: {type(error).__name__}: {error}")
            continue
        try:
            read_idx_file(path, FILES[name])
        except MnistError as error:
            path.unlink(missing_ok=True)
            errors.append(f"{mirror}: {error}")
            continue
        return path
    raise MnistError(
        f"could not download {name}.gz ({'; '.join(errors)}).\n"
        f"If this machine is offline, copy the four MNIST .gz files into a directory and pass it with "
        f"--data-dir DIR or the environment variable {ENVIRONMENT_VARIABLE}=DIR."
    )


def locate(data_dir=None, mirrors=MIRRORS, progressbar=True):
    """{file name: path} of the four files, downloading into the cache if no directory is given."""
    explicit = data_dir if data_dir is not None else os.environ.get(ENVIRONMENT_VARIABLE) or None
    if explicit is not None:
        directory = Path(explicit).expanduser()
        origin = "--data-dir" if data_dir is not None else ENVIRONMENT_VARIABLE
        if not directory.is_dir():
            raise MnistError(f"MNIST directory {directory} (from {origin}) does not exist")
        paths = {name: _find(directory, name) for name in FILES}
        missing = [name for name, path in paths.items() if path is None]
        if missing:
            raise MnistError(
                f"MNIST directory {directory} (from {origin}) lacks {', '.join(missing)} (.gz or decompressed)"
            )
        return paths
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return {name: _find(directory, name) or download(name, directory, mirrors, progressbar) for name in FILES}


def load_mnist(data_dir=None, mirrors=MIRRORS, progressbar=True):
    """The verified MNIST arrays (see the module docstring for where they come from)."""
    paths = locate(data_dir, mirrors, progressbar)
    arrays = {name: read_idx_file(path, FILES[name]) for name, path in paths.items()}
    for name, array in arrays.items():
        if array.shape != EXPECTED_SHAPES[name] or array.dtype != np.uint8:
            raise MnistError(
                f"{paths[name]}: expected {EXPECTED_SHAPES[name]} uint8, got {array.shape} {array.dtype}"
            )
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        if arrays[name].max() > 9:
            raise MnistError(f"{paths[name]}: labels must be digits 0-9, found {arrays[name].max()}")
    return Mnist(
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"],
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"],
        source=str(Path(paths["train-images-idx3-ubyte"]).parent),
    )
