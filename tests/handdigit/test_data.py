"""MNIST loading: strict IDX parsing, checksums, directories, and the download path."""

import functools
import gzip
import hashlib
import http.server
import shutil
import threading

import numpy as np
import pytest

from handdigit.data import FILES, MnistError, load_mnist, parse_idx, read_idx_file
from handdigit.data import mnist as data


def test_shared_files_load_with_known_shapes_and_statistics(mnist):
    """The four files parse to the documented shapes, and the pixel mean is MNIST's 0.1307."""
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels.shape == (60000,) and mnist.test_labels.shape == (10000,)
    assert mnist.train_images.mean() / 255 == pytest.approx(0.1307, abs=1e-4)
    assert mnist.train_images.std() / 255 == pytest.approx(0.3081, abs=1e-4)
    assert list(mnist.train_labels[:8]) == [5, 0, 4, 1, 9, 2, 1, 3]  # the well-known first labels
    assert np.bincount(mnist.test_labels).tolist()[:3] == [980, 1135, 1032]


def idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()


def test_parse_idx_round_trips_a_handmade_file():
    """A hand-built IDX file parses back to the array it was made from."""
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(array), "x"), array)
    big_endian = np.array([1, -2, 70000], dtype=np.int32)
    assert np.array_equal(parse_idx(idx_bytes(big_endian, 0x0C), "y"), big_endian)


@pytest.fixture
def damaged(tmp_path, mnist_dir):
    """A writable copy of the four shared files; tests damage one of them."""
    for name in FILES:
        shutil.copy(mnist_dir / f"{name}.gz", tmp_path / f"{name}.gz")
    return tmp_path


def rewrite(path, transform):
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(transform(raw), compresslevel=1))


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (lambda raw: raw[: len(raw) // 2], "truncated"),
        (lambda raw: b"\x00\x00\x08\x04" + raw[4:], "header says"),  # rank 4: sizes and length disagree
        (lambda raw: b"\x12\x34" + raw[2:], "not an IDX file"),
        (lambda raw: raw[:4] + (59999).to_bytes(4, "big") + raw[8:], "trailing bytes"),
        (lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), "checksum mismatch"),
        (lambda raw: raw + b"\x00", "trailing bytes"),
        (lambda raw: b"", "not even an IDX header"),
    ],
    ids=["truncated", "wrong-rank", "wrong-magic", "wrong-count", "bad-checksum", "extra-byte", "empty"],
)
def test_damaged_files_get_a_clear_error_naming_the_file(damaged, transform, message):
    """Each kind of damage is reported with its own message and the file's name."""
    target = damaged / "train-images-idx3-ubyte.gz"
    rewrite(target, transform)
    with pytest.raises(MnistError, match=message) as error:
        load_mnist(damaged)
    assert "train-images-idx3-ubyte" in str(error.value)


def test_not_gzip_and_missing_files_are_reported(damaged):
    """A corrupt gzip stream and a missing file both name the file."""
    (damaged / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte.*cannot be read"):
        load_mnist(damaged)
    (damaged / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError, match="lacks t10k-labels-idx1-ubyte"):
        load_mnist(damaged)


def test_a_gzip_bomb_is_refused_after_a_bounded_read(damaged):
    """3 MB that would inflate to 3 GB: refused once 64 MiB came out, the memory never filled."""
    import resource
    import zlib

    stream = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    chunk = bytes(1 << 20)
    with open(damaged / "t10k-labels-idx1-ubyte.gz", "wb") as file:
        for _ in range(3 << 10):
            file.write(stream.compress(chunk))
        file.write(stream.flush())
    assert (damaged / "t10k-labels-idx1-ubyte.gz").stat().st_size < 4 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte.gz: decompresses to more than 64 MiB"):
        load_mnist(damaged)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1 << 20  # KiB: under 1 GiB more


def test_labels_swapped_for_images_are_rejected(damaged):
    """A labels file in place of an images file (same name) fails the checksum, not silently."""
    shutil.copy(damaged / "t10k-labels-idx1-ubyte.gz", damaged / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(MnistError, match="t10k-images-idx3-ubyte"):
        load_mnist(damaged)


def test_decompressed_files_and_the_environment_variable_are_accepted(tmp_path, mnist_dir, monkeypatch):
    """A directory of decompressed IDX files works, found through HANDDIGIT_DATA."""
    for name in FILES:
        (tmp_path / name).write_bytes(gzip.decompress((mnist_dir / f"{name}.gz").read_bytes()))
    monkeypatch.setenv("HANDDIGIT_DATA", str(tmp_path))
    loaded = load_mnist()
    assert loaded.test_images.shape == (10000, 28, 28)
    assert (
        hashlib.sha256(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())).hexdigest()
        == FILES["t10k-labels-idx1-ubyte"]
    )


def test_a_missing_directory_is_reported(tmp_path):
    with pytest.raises(MnistError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


class Server:
    """A local HTTP server on 127.0.0.1 serving a directory, counting requests."""

    def __init__(self, directory):
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - the http.server API
                server.requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_verifies_caches_and_does_not_download_twice(tmp_path, mnist_dir, monkeypatch):
    """From a local mirror: files land verified in the cache, and a second load downloads nothing."""
    monkeypatch.delenv("HANDDIGIT_DATA", raising=False)
    monkeypatch.setenv("HANDDIGIT_CACHE", str(tmp_path / "cache"))
    with Server(mnist_dir) as server:
        first = load_mnist(mirrors=[server.url], progressbar=False)
        assert sorted(server.requests) == sorted(f"/{name}.gz" for name in FILES)
        second = load_mnist(mirrors=[server.url], progressbar=False)
        assert len(server.requests) == 4
    assert np.array_equal(first.train_labels, second.train_labels)
    cached = sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir())
    assert cached == sorted(f"{name}.gz" for name in FILES)  # no temporary files left behind


def test_a_corrupt_mirror_is_skipped_and_a_good_one_used(tmp_path, mnist_dir, monkeypatch):
    """A mirror serving a damaged file is not trusted: the next mirror's verified copy is kept."""
    monkeypatch.delenv("HANDDIGIT_DATA", raising=False)
    monkeypatch.setenv("HANDDIGIT_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in FILES:
        shutil.copy(mnist_dir / f"{name}.gz", bad / f"{name}.gz")
    rewrite(bad / "t10k-labels-idx1-ubyte.gz", lambda raw: raw[:-1] + bytes([(raw[-1] + 1) % 10]))
    with Server(bad) as bad_server, Server(mnist_dir) as good_server:
        loaded = load_mnist(mirrors=[bad_server.url, good_server.url], progressbar=False)
        assert "/t10k-labels-idx1-ubyte.gz" in good_server.requests
    assert np.bincount(loaded.test_labels)[0] == 980


def test_offline_without_a_copy_says_what_to_do(tmp_path, monkeypatch):
    """No mirror reachable and no local copy: one message naming --data-dir and HANDDIGIT_DATA."""
    monkeypatch.delenv("HANDDIGIT_DATA", raising=False)
    monkeypatch.setenv("HANDDIGIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(MnistError, match="--data-dir DIR or the environment variable HANDDIGIT_DATA"):
        load_mnist(mirrors=["http://127.0.0.1:9/"], progressbar=False)
    assert not list((tmp_path / "cache" / "mnist").glob("*.gz"))


def test_read_idx_file_reads_uncompressed_bytes(tmp_path):
    path = tmp_path / "tiny-idx1-ubyte"
    path.write_bytes(idx_bytes(np.array([3, 1, 4], np.uint8)))
    assert read_idx_file(path).tolist() == [3, 1, 4]
