"""Where the pad keeps what you taught it: your corrected drawings and the weights taught with them.

    store = PersonalStore.in_user_directory()   # $HANDDIGIT_USER_DIR, else platformdirs' data dir
    store.add(image, 7)                          # a drawing (H, W) uint8, paper white, and its digit
    images, labels = store.examples()
    store.export_zip("mine.zip"); store.import_zip("mine.zip")

On disk (a folder of your own: never next to the shipped weights):

    personal/labels.csv     file,label: one line per example, the list that counts
    personal/000001.png     the drawings, greyscale, paper white, at most 280 pixels a side
    taught.npz              the weights last taught with them (a weights file like the shipped one,
                            naming the weights it was taught from)

Every file is written atomically (a temporary file renamed over it): an interrupted write leaves
the old file, and a drawing not yet in labels.csv is not an example. Two pads on one folder (two
tabs of the app) take turns through a lock file. The zip holds the same labels.csv and PNGs, so an
export opens in any file manager and an import can come from anywhere: it is checked (its size, its
names, every label, every image's size before it is decoded, no blank image) before anything is
added.

`PersonalStore(None)` keeps everything in memory: what `handdigit app` gives each visitor when it
serves other hosts, so that one visitor's teaching never reaches another.
"""

import csv
import io
import os
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from handdigit.util import write_atomic

ENVIRONMENT_VARIABLE = "HANDDIGIT_USER_DIR"
SESSION_ONLY_VARIABLE = "HANDDIGIT_TEACH_IN_SESSION"  # set by `handdigit app` when it serves other hosts
LABELS = "labels.csv"
TAUGHT_WEIGHTS = "taught.npz"
TAUGHT_FROM = "handdigit.taught_from"  # the entry of taught.npz naming the weights it was taught from
MAX_EXAMPLES = 10_000  # as many as Recognizer.learn takes
MAX_SESSION_EXAMPLES = 1_000  # in memory, for one visitor of a shared app
MAX_SIDE = 280  # examples are kept at most this many pixels a side (the pad's canvas; the network sees 28)
MAX_ZIP_BYTES = 200 << 20  # uncompressed, all members together: a zip bomb stops here
MAX_IMAGE_BYTES = 5 << 20
MAX_IMAGE_PIXELS = 4_000_000  # an image in a zip larger than this is refused before it is decoded
LOCK_SECONDS = 30


class PersonalSetError(ValueError):
    """A personal set or zip that cannot be used; the message says why in one sentence."""


def user_directory():
    """$HANDDIGIT_USER_DIR, or the user's data directory for HandDigit (platformdirs)."""
    override = os.environ.get(ENVIRONMENT_VARIABLE)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("handdigit", appauthor=False))


class PersonalStore:
    """Your examples (drawings and digits) and the weights taught with them, in `directory` or,
    when it is None, in memory only."""

    def __init__(self, directory):
        self.directory = None if directory is None else Path(directory)
        self._examples = []  # in memory only: (image, label) pairs
        self._taught = None  # in memory only: the taught Recognizer
        self._lock = threading.RLock()  # the pad's thread and the teaching thread

    @classmethod
    def in_user_directory(cls):
        return cls(user_directory())

    @classmethod
    def for_pad(cls, user_dir=None):
        """The store a pad uses: `user_dir` ("session": in memory), else in memory when the app
        serves other hosts ($HANDDIGIT_TEACH_IN_SESSION), else the user's data directory."""
        if user_dir == "session" or (user_dir is None and os.environ.get(SESSION_ONLY_VARIABLE)):
            return cls(None)
        return cls(user_directory() if user_dir is None else user_dir)

    @property
    def on_disk(self):
        return self.directory is not None

    @property
    def limit(self):
        return MAX_EXAMPLES if self.on_disk else MAX_SESSION_EXAMPLES

    @property
    def examples_directory(self):
        return self.directory / "personal"

    @property
    def taught_path(self):
        return self.directory / TAUGHT_WEIGHTS

    def __len__(self):
        return int(self.counts().sum())

    # --- examples -------------------------------------------------------------------------
    def add(self, image, label):
        """Keep one example: `image` (H, W) uint8, paper white (a drawing as shown), `label` 0-9;
        returns how many there are now."""
        image = _checked_example(_fitted(_checked_image(image)), "that drawing")
        label = _checked_label(label)
        return self._append([(image, label)])

    def examples(self):
        """([images (H, W) uint8, paper white], labels as an int array), oldest first (a drawing
        deleted or damaged by hand is left out)."""
        with self._lock:
            if not self.on_disk:
                pairs = list(self._examples)
            else:
                pairs = []
                for name, label in self._entries():
                    try:
                        pairs.append((_read_png((self.examples_directory / name).read_bytes(), name), label))
                    except (OSError, PersonalSetError):
                        continue
        return [image for image, _ in pairs], np.array([label for _, label in pairs], dtype=int)

    def counts(self):
        """How many examples of each digit: an int array of 10."""
        with self._lock:
            if self.on_disk:
                labels = [
                    label for name, label in self._entries() if (self.examples_directory / name).is_file()
                ]
            else:
                labels = [label for _, label in self._examples]
        return np.bincount(np.array(labels, dtype=int), minlength=10)

    def _append(self, pairs):
        """Add (image, label) pairs, all or none; returns how many examples there are now."""
        with self._lock:
            if not self.on_disk:
                _check_room(len(self._examples), len(pairs), self.limit)
                self._examples.extend(pairs)
                return len(self._examples)
            from filelock import FileLock, Timeout

            self.examples_directory.mkdir(parents=True, exist_ok=True)
            try:  # another pad on this folder (another tab of the app) waits its turn
                with FileLock(str(self.directory / "personal.lock"), timeout=LOCK_SECONDS):
                    entries = self._entries()
                    _check_room(len(entries), len(pairs), self.limit)
                    for image, label in pairs:
                        name = _next_name(entries, self.examples_directory)
                        write_atomic(
                            self.examples_directory / name,
                            lambda file, image=image: file.write(_png(image)),
                            "wb",
                        )
                        entries.append((name, label))
                    self._write_entries(entries)  # the examples count from here, all together
                    return len(entries)
            except Timeout:
                raise PersonalSetError(f"{self.directory} is busy (another pad is writing there)") from None

    def _entries(self):
        path = self.examples_directory / LABELS
        if not path.is_file():
            return []
        try:
            return _parse_labels(path.read_text(encoding="utf-8-sig"), str(path))
        except (OSError, UnicodeDecodeError) as error:
            raise PersonalSetError(f"{path}: cannot be read ({error})") from None

    def _write_entries(self, entries):
        write_atomic(self.examples_directory / LABELS, lambda file: file.write(_labels_text(entries)))

    # --- taught weights -------------------------------------------------------------------
    def save_taught(self, recognizer, taught_from=""):
        """Keep `recognizer` as the taught one (in the directory: taught.npz, atomically, naming
        `taught_from`, the SHA-256 of the weights it was taught from)."""
        if not self.on_disk:
            self._taught = recognizer
            return None
        from handdigit.recognition.calibration import save_with_calibration

        self.directory.mkdir(parents=True, exist_ok=True)
        with recognizer._lock:
            return save_with_calibration(
                recognizer.model,
                self.taught_path,
                recognizer.calibration,
                extra={
                    TAUGHT_FROM: np.array(taught_from),
                    **(recognizer.distance.arrays() if recognizer.distance is not None else {}),
                },
            )

    def load_taught(self, taught_from=""):
        """The taught Recognizer, or None when nothing was taught; PersonalSetError when it was
        taught from other weights than `taught_from` (an older version's); a file that cannot be
        used raises the weights file's own error."""
        if not self.on_disk:
            return self._taught
        if not self.taught_path.is_file():
            return None
        from handdigit.recognition.recognizer import Recognizer
        from tinycnn.model import read_extra

        source = read_extra(self.taught_path).get(TAUGHT_FROM)
        if source is None or source.dtype.kind != "U" or str(source) != taught_from:
            raise PersonalSetError(
                "they were taught from other shipped weights than these: click Teach again"
            )
        return Recognizer.load(self.taught_path)

    def forget_taught(self):
        """Back to the shipped weights: the taught ones are removed (your examples stay)."""
        self._taught = None
        if self.on_disk:
            self.taught_path.unlink(missing_ok=True)

    # --- zip ------------------------------------------------------------------------------
    def export_zip(self, path=None):
        """The examples as a zip (labels.csv and the PNGs): written atomically to `path`, or
        returned as bytes when `path` is None."""
        images, labels = self.examples()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            entries = []
            for index, (image, label) in enumerate(zip(images, labels, strict=True), start=1):
                name = f"{index:06d}.png"
                archive.writestr(name, _png(image))
                entries.append((name, int(label)))
            archive.writestr(LABELS, _labels_text(entries))
        data = buffer.getvalue()
        if path is None:
            return data
        return write_atomic(path, lambda file: file.write(data), mode="wb")

    def import_zip(self, source, name="zip file"):
        """Add the examples of a zip made by export_zip (or by hand: labels.csv and images);
        `source` is a path or bytes. Everything is checked before anything is added; returns how
        many were added."""
        if isinstance(source, (str, os.PathLike)):
            name = str(source)
            try:
                source = Path(source).read_bytes()
            except OSError as error:
                raise PersonalSetError(f"{name}: cannot be read ({error.strerror or error})") from None
        examples = _read_zip(bytes(source), name, self.limit)
        try:
            self._append(examples)
        except PersonalSetError as error:
            raise PersonalSetError(f"{name}: {error}") from None
        return len(examples)


def _read_zip(data, name, limit):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise PersonalSetError(f"{name}: not a zip file") from None
    with archive:
        members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        if sum(info.file_size for info in members.values()) > MAX_ZIP_BYTES:
            raise PersonalSetError(f"{name}: more than {MAX_ZIP_BYTES >> 20} MB once unpacked")
        labels_name = next((member for member in members if member.rsplit("/", 1)[-1] == LABELS), None)
        if labels_name is None:
            raise PersonalSetError(f"{name}: no {LABELS} in it (a zip exported by HandDigit has one)")
        folder = labels_name[: -len(LABELS)]
        try:
            entries = _parse_labels(archive.read(labels_name).decode("utf-8-sig"), f"{name}: {LABELS}")
            if len(entries) > limit:
                raise PersonalSetError(f"{name}: more than {limit:,} examples")
            examples = []
            for file, label in entries:
                member = members.get(folder + file)
                if member is None:
                    raise PersonalSetError(f"{name}: {LABELS} lists {file}, which is not in the zip")
                if member.file_size > MAX_IMAGE_BYTES:
                    raise PersonalSetError(f"{name}: {file} is larger than {MAX_IMAGE_BYTES >> 20} MB")
                where = f"{name}: {file}"
                examples.append((_checked_example(_read_png(archive.read(member), where), where), label))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError, RuntimeError) as error:
            raise PersonalSetError(f"{name}: damaged ({error})") from None
    return examples


def _check_room(present, more, limit):
    if present + more > limit:
        raise PersonalSetError(f"your set would pass its limit of {limit:,} examples (it has {present:,})")


def _parse_labels(text, source):
    """[(file, label)] from labels.csv text; PersonalSetError naming the first bad line."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise PersonalSetError(f"{source}: not a CSV file ({error})") from None
    if not rows or [cell.strip().lower() for cell in rows[0]] != ["file", "label"]:
        raise PersonalSetError(f"{source}: the first line must be 'file,label'")
    entries, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise PersonalSetError(f"{source}: line {number} is not 'file,label'")
        file, label = row[0].strip(), row[1].strip()
        if not file or "/" in file or "\\" in file or file.startswith(".") or file in seen or len(file) > 200:
            raise PersonalSetError(f"{source}: line {number}: {file[:60]!r} is not a plain, new file name")
        if label not in tuple("0123456789"):
            raise PersonalSetError(f"{source}: line {number}: the label {label[:20]!r} is not a digit 0-9")
        seen.add(file)
        entries.append((file, int(label)))
    return entries


def _labels_text(entries):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", "label"])
    writer.writerows(entries)
    return text.getvalue()


def _next_name(entries, directory):
    used = {name for name, _ in entries}
    number = len(entries) + 1
    while f"{number:06d}.png" in used or (directory / f"{number:06d}.png").exists():
        number += 1
    return f"{number:06d}.png"


def _checked_image(image):
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8 or min(image.shape) < 1:
        raise PersonalSetError("an example is an (H, W) uint8 image, paper white")
    return image


def _checked_example(image, what):
    """`image` if the network would find a digit-sized mark in it; PersonalSetError if it is blank
    (teaching could never use it)."""
    from handdigit.preprocess import to_mnist

    if to_mnist(image.astype(np.float32) / 255) is None:
        raise PersonalSetError(f"{what} is blank: there is no drawing in it")
    return image


def _checked_label(label):
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
        raise PersonalSetError(f"a label is a digit from 0 to 9, got {label!r}")
    return int(label)


def _fitted(image):
    """`image` scaled down (never up) to at most MAX_SIDE pixels a side, keeping its shape."""
    from PIL import Image

    height, width = image.shape
    if max(height, width) <= MAX_SIDE:
        return image
    scale = MAX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image, mode="L").resize(size, Image.Resampling.LANCZOS))


def _png(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _read_png(data, name):
    """An image file's (H, W) uint8 luminance on white paper, at most MAX_SIDE a side; its size is
    checked before it is decoded (handdigit.recognition.images reads and checks the rest: format,
    transparency)."""
    from PIL import Image, UnidentifiedImageError

    from handdigit.recognition.images import UnreadableImage, load_image

    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise PersonalSetError(f"{name}: not an image file") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise PersonalSetError(
            f"{name}: {width}x{height} pixels is more than the {MAX_IMAGE_PIXELS:,} allowed"
        )
    try:
        luminance, alpha = load_image(data, name=name)
    except UnreadableImage as error:
        raise PersonalSetError(str(error)) from None
    paper = luminance if alpha is None else alpha * luminance + (1 - alpha)
    return _fitted(np.round(255 * paper).astype(np.uint8))
