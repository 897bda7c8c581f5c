"""Where the pad keeps what you taught it: your corrected drawings and the weights taught with them.

    store = PersonalStore.in_user_directory()   # $HANDDIGIT_USER_DIR, else platformdirs' data dir
    store.add(image, 7)                          # a drawing (H, W) uint8, paper white, and its digit
    images, labels = store.examples()
    store.export_zip("mine.zip"); store.import_zip("mine.zip")

On disk (a folder of your own: never next to the shipped weights):

    personal/labels.csv     file,label: one line per example, the list that counts
    personal/000001.png     the drawings, greyscale, paper white, as drawn
    taught.npz              the weights last taught with them (a weights file like the shipped one)

Every file is written atomically (a temporary file renamed over it): an interrupted write leaves
the old file, and a drawing not yet in labels.csv is not an example. The zip holds the same
labels.csv and PNGs, so an export opens in any file manager and an import can come from anywhere:
it is checked (its size, its names, every label, every image) before anything is added.

`PersonalStore(None)` keeps everything in memory: what `handdigit app` gives each visitor when it
serves other hosts, so that one visitor's teaching never reaches another.
"""

import csv
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from handdigit.util import write_atomic

ENVIRONMENT_VARIABLE = "HANDDIGIT_USER_DIR"
SESSION_ONLY_VARIABLE = "HANDDIGIT_TEACH_IN_SESSION"  # set by `handdigit app` when it serves other hosts
LABELS = "labels.csv"
TAUGHT_WEIGHTS = "taught.npz"
MAX_EXAMPLES = 10_000  # as many as Recognizer.learn takes
MAX_ZIP_BYTES = 200 << 20  # uncompressed, all members together: a zip bomb stops here
MAX_IMAGE_BYTES = 5 << 20


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
        self._images, self._labels = [], []  # in memory only
        self._taught = None  # in memory only: the taught Recognizer

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
    def examples_directory(self):
        return self.directory / "personal"

    @property
    def taught_path(self):
        return self.directory / TAUGHT_WEIGHTS

    def __len__(self):
        return len(self._entries()) if self.on_disk else len(self._labels)

    # --- examples -------------------------------------------------------------------------
    def add(self, image, label):
        """Keep one example: `image` (H, W) uint8, paper white (a drawing as shown), `label` 0-9."""
        image = _checked_image(image)
        label = _checked_label(label)
        if len(self) >= MAX_EXAMPLES:
            raise PersonalSetError(f"your set is full ({MAX_EXAMPLES:,} examples)")
        if not self.on_disk:
            self._images.append(image)
            self._labels.append(label)
            return len(self._labels)
        entries = self._entries()  # read again now: another tab of the app may have added one
        name = _next_name(entries, self.examples_directory)
        self.examples_directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.examples_directory / name, lambda file: file.write(_png(image)), mode="wb")
        entries.append((name, label))
        self._write_entries(entries)
        return len(entries)

    def examples(self):
        """([images (H, W) uint8, paper white], labels as an int array), oldest first."""
        if not self.on_disk:
            return list(self._images), np.array(self._labels, dtype=int)
        images, labels = [], []
        for name, label in self._entries():
            path = self.examples_directory / name
            try:
                images.append(_read_png(path.read_bytes(), name))
            except (OSError, PersonalSetError):
                continue  # deleted or damaged by hand: the others still count
            labels.append(label)
        return images, np.array(labels, dtype=int)

    def counts(self):
        """How many examples of each digit: an int array of 10."""
        labels = np.array([label for _, label in self._entries()] if self.on_disk else self._labels, int)
        return np.bincount(labels, minlength=10)

    def _entries(self):
        path = self.examples_directory / LABELS
        if not path.is_file():
            return []
        try:
            return _parse_labels(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as error:
            raise PersonalSetError(f"{path}: cannot be read ({error})") from None

    def _write_entries(self, entries):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["file", "label"])
        writer.writerows(entries)
        write_atomic(self.examples_directory / LABELS, lambda file: file.write(text.getvalue()))

    # --- taught weights -------------------------------------------------------------------
    def save_taught(self, recognizer):
        """Keep `recognizer` as the taught one (in the directory: taught.npz, atomically)."""
        if not self.on_disk:
            self._taught = recognizer
            return None
        from handdigit.recognition.calibration import save_with_calibration

        self.directory.mkdir(parents=True, exist_ok=True)
        with recognizer._lock:
            return save_with_calibration(recognizer.model, self.taught_path, recognizer.calibration)

    def load_taught(self):
        """The taught Recognizer, or None when nothing was taught; a file that cannot be used
        raises the weights file's own error (the caller falls back to the shipped weights)."""
        if not self.on_disk:
            return self._taught
        if not self.taught_path.is_file():
            return None
        from handdigit.recognition.recognizer import Recognizer

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
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["file", "label"])
            writer.writerows(entries)
            archive.writestr(LABELS, text.getvalue())
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
        examples = _read_zip(bytes(source), name)
        if len(self) + len(examples) > MAX_EXAMPLES:
            raise PersonalSetError(
                f"{name}: {len(examples):,} more examples would pass the limit of {MAX_EXAMPLES:,}"
            )
        if not self.on_disk:
            for image, label in examples:
                self._images.append(image)
                self._labels.append(label)
            return len(examples)
        entries = self._entries()
        self.examples_directory.mkdir(parents=True, exist_ok=True)
        for image, label in examples:
            entry = _next_name(entries, self.examples_directory)
            write_atomic(
                self.examples_directory / entry, lambda file, image=image: file.write(_png(image)), "wb"
            )
            entries.append((entry, label))
        self._write_entries(entries)  # the examples count from here, all together
        return len(examples)


def _read_zip(data, name):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
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
            entries = _parse_labels(archive.read(labels_name).decode("utf-8"), f"{name}: {LABELS}")
            if len(entries) > MAX_EXAMPLES:
                raise PersonalSetError(f"{name}: more than {MAX_EXAMPLES:,} examples")
            examples = []
            for file, label in entries:
                member = members.get(folder + file)
                if member is None:
                    raise PersonalSetError(f"{name}: {LABELS} lists {file}, which is not in the zip")
                if member.file_size > MAX_IMAGE_BYTES:
                    raise PersonalSetError(f"{name}: {file} is larger than {MAX_IMAGE_BYTES >> 20} MB")
                examples.append((_read_png(archive.read(member), f"{name}: {file}"), label))
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError, RuntimeError) as error:
            raise PersonalSetError(f"{name}: damaged ({error})") from None
    return examples


def _parse_labels(text, source):
    """[(file, label)] from labels.csv text; PersonalSetError naming the first bad line."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [cell.strip().lower() for cell in rows[0]] != ["file", "label"]:
        raise PersonalSetError(f"{source}: the first line must be 'file,label'")
    entries, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise PersonalSetError(f"{source}: line {number} is not 'file,label'")
        file, label = row[0].strip(), row[1].strip()
        if not file or "/" in file or "\\" in file or file.startswith(".") or file in seen:
            raise PersonalSetError(f"{source}: line {number}: {file!r} is not a plain, new file name")
        if label not in tuple("0123456789"):
            raise PersonalSetError(f"{source}: line {number}: the label {label!r} is not a digit 0-9")
        seen.add(file)
        entries.append((file, int(label)))
    return entries


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


def _checked_label(label):
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
        raise PersonalSetError(f"a label is a digit from 0 to 9, got {label!r}")
    return int(label)


def _png(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _read_png(data, name):
    """An image file's (H, W) uint8 luminance on white paper (handdigit.recognition.images reads
    and checks it: format, size, transparency)."""
    from handdigit.recognition.images import UnreadableImage, load_image

    try:
        luminance, alpha = load_image(data, name=name)
    except UnreadableImage as error:
        raise PersonalSetError(str(error)) from None
    paper = luminance if alpha is None else alpha * luminance + (1 - alpha)
    return np.round(255 * paper).astype(np.uint8)
