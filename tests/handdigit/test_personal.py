"""PersonalStore: your examples and taught weights on disk (atomically, surviving a restart) or in
memory, and the zip of PNGs and labels that exports and imports them, checked before use."""

import io
import zipfile

import numpy as np
import pytest

from handdigit.pad import personal
from handdigit.pad.personal import PersonalSetError, PersonalStore


def drawing(seed, shape=(280, 280)):
    """A paper-white uint8 image with a dark blob, different for every seed."""
    rng = np.random.default_rng(seed)
    image = np.full(shape, 255, np.uint8)
    y, x = rng.integers(20, shape[0] - 60), rng.integers(20, shape[1] - 60)
    image[y : y + 40, x : x + 25] = rng.integers(0, 80)
    return image


def test_examples_are_kept_on_disk_and_read_back_by_a_new_store(tmp_path):
    store = PersonalStore(tmp_path)
    images = [drawing(seed) for seed in range(5)]
    for image, label in zip(images, [3, 7, 3, 0, 9], strict=True):
        store.add(image, label)
    again = PersonalStore(tmp_path)  # as after a restart
    read, labels = again.examples()
    assert labels.tolist() == [3, 7, 3, 0, 9]
    assert all(np.array_equal(a, b) for a, b in zip(read, images, strict=True))
    assert again.counts().tolist() == [1, 0, 0, 2, 0, 0, 0, 1, 0, 1]
    assert len(again) == 5
    assert sorted(path.name for path in (tmp_path / "personal").iterdir()) == [
        "000001.png", "000002.png", "000003.png", "000004.png", "000005.png", "labels.csv"
    ]  # fmt: skip


def test_in_memory_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = PersonalStore(None)
    store.add(drawing(1), 4)
    store.import_zip(_zip([("a.png", drawing(2))], "file,label\na.png,5\n"))
    images, labels = store.examples()
    assert labels.tolist() == [4, 5] and np.array_equal(images[0], drawing(1))
    assert list(tmp_path.iterdir()) == []


def test_the_pad_chooses_disk_or_session(tmp_path, monkeypatch):
    monkeypatch.setenv(personal.ENVIRONMENT_VARIABLE, str(tmp_path / "mine"))
    assert PersonalStore.for_pad().directory == tmp_path / "mine"
    assert PersonalStore.for_pad(tmp_path / "other").directory == tmp_path / "other"
    assert not PersonalStore.for_pad("session").on_disk
    monkeypatch.setenv(personal.SESSION_ONLY_VARIABLE, "1")  # handdigit app serving other hosts
    assert not PersonalStore.for_pad().on_disk
    monkeypatch.delenv(personal.ENVIRONMENT_VARIABLE)
    monkeypatch.delenv(personal.SESSION_ONLY_VARIABLE)
    assert PersonalStore.for_pad().directory.name == "handdigit"  # platformdirs' data directory


@pytest.mark.parametrize(
    ("image", "label", "message"),
    [
        (np.zeros((28, 28), np.float32), 3, "uint8"),
        (np.zeros((2, 28, 28), np.uint8), 3, "uint8"),
        (drawing(0), 10, "0 to 9"),
        (drawing(0), -1, "0 to 9"),
        (drawing(0), True, "0 to 9"),
        (drawing(0), "3", "0 to 9"),
    ],
)
def test_a_bad_example_is_refused(tmp_path, image, label, message):
    store = PersonalStore(tmp_path)
    with pytest.raises(PersonalSetError, match=message):
        store.add(image, label)
    assert len(store) == 0


def test_an_interrupted_write_of_the_list_leaves_the_set_as_it_was(tmp_path, monkeypatch):
    store = PersonalStore(tmp_path)
    store.add(drawing(1), 1)
    real = personal.write_atomic

    def fails_on_the_list(path, writer, mode="w"):
        if path.name == personal.LABELS:
            raise KeyboardInterrupt
        return real(path, writer, mode)

    monkeypatch.setattr(personal, "write_atomic", fails_on_the_list)
    with pytest.raises(KeyboardInterrupt):
        store.add(drawing(2), 2)
    monkeypatch.undo()
    assert PersonalStore(tmp_path).examples()[1].tolist() == [1]  # the stray PNG is no example
    store.add(drawing(3), 3)  # and the next one does not reuse its name
    assert PersonalStore(tmp_path).examples()[1].tolist() == [1, 3]


def test_a_drawing_deleted_by_hand_is_skipped(tmp_path):
    store = PersonalStore(tmp_path)
    for seed in range(3):
        store.add(drawing(seed), seed)
    (tmp_path / "personal" / "000002.png").unlink()
    images, labels = store.examples()
    assert labels.tolist() == [0, 2] and np.array_equal(images[1], drawing(2))


def test_a_damaged_list_is_one_sentence(tmp_path):
    (tmp_path / "personal").mkdir()
    (tmp_path / "personal" / "labels.csv").write_text("name,digit\n")
    with pytest.raises(PersonalSetError, match="first line must be 'file,label'"):
        PersonalStore(tmp_path).examples()


def test_export_then_import_gives_the_same_examples(tmp_path):
    source = PersonalStore(tmp_path / "a")
    images = [drawing(seed, (100 + seed, 90)) for seed in range(4)]
    for image, label in zip(images, [5, 6, 7, 8], strict=True):
        source.add(image, label)
    path = source.export_zip(tmp_path / "mine.zip")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "000001.png",
            "000002.png",
            "000003.png",
            "000004.png",
            "labels.csv",
        ]
        assert archive.read("labels.csv").decode().splitlines()[:2] == ["file,label", "000001.png,5"]
    target = PersonalStore(tmp_path / "b")
    target.add(drawing(9), 1)
    assert target.import_zip(path) == 4
    read, labels = target.examples()
    assert labels.tolist() == [1, 5, 6, 7, 8]
    assert all(np.array_equal(a, b) for a, b in zip(read[1:], images, strict=True))
    assert PersonalStore(None).import_zip(source.export_zip()) == 4  # bytes too


def _zip(members, labels_csv, folder=""):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members:
            if isinstance(content, np.ndarray):
                content = personal._png(content)
            archive.writestr(folder + name, content)
        if labels_csv is not None:
            archive.writestr(folder + "labels.csv", labels_csv)
    return buffer.getvalue()


def test_a_zip_made_by_hand_in_a_folder_with_rgba_pictures_is_imported(tmp_path):
    from PIL import Image

    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[10:30, 12:18] = (0, 0, 0, 255)  # black ink on transparent
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    data = _zip([("seven.png", buffer.getvalue())], "file,label\r\nseven.png, 7\r\n", folder="my digits/")
    store = PersonalStore(tmp_path)
    assert store.import_zip(data) == 1
    images, labels = store.examples()
    assert labels.tolist() == [7]
    assert images[0][20, 15] == 0 and images[0][0, 0] == 255  # transparent became paper


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip", "not a zip file"),
        (_zip([("a.png", drawing(1))], None), "no labels.csv"),
        (_zip([("a.png", drawing(1))], "file;label\na.png;3\n"), "first line"),
        (_zip([("a.png", drawing(1))], "file,label\na.png,x\n"), "line 2: the label 'x'"),
        (_zip([("a.png", drawing(1))], "file,label\na.png,12\n"), "not a digit 0-9"),
        (_zip([("a.png", drawing(1))], "file,label\n../a.png,3\n"), "plain, new file name"),
        (_zip([("a.png", drawing(1))], "file,label\na.png,3\na.png,4\n"), "line 3"),
        (_zip([("a.png", drawing(1))], "file,label\nb.png,3\n"), "b.png, which is not in the zip"),
        (_zip([("a.png", b"\x89PNG broken")], "file,label\na.png,3\n"), "a.png"),
        (_zip([("a.png", drawing(1))], "file,label\na.png\n"), "line 2 is not 'file,label'"),
    ],
)
def test_a_bad_zip_is_refused_and_nothing_is_added(tmp_path, data, message):
    store = PersonalStore(tmp_path)
    store.add(drawing(0), 0)
    with pytest.raises(PersonalSetError, match=message):
        store.import_zip(data, name="upload.zip")
    assert store.examples()[1].tolist() == [0]
    assert sorted(path.name for path in (tmp_path / "personal").iterdir()) == ["000001.png", "labels.csv"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(personal, "MAX_ZIP_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", "file,label\n")
        archive.writestr("zeros.png", bytes(5000))
    with pytest.raises(PersonalSetError, match="once unpacked"):
        PersonalStore(tmp_path).import_zip(buffer.getvalue())


@pytest.mark.parametrize("on_disk", [True, False])
def test_too_many_examples_are_refused(tmp_path, monkeypatch, on_disk):
    monkeypatch.setattr(personal, "MAX_EXAMPLES" if on_disk else "MAX_SESSION_EXAMPLES", 2)
    store = PersonalStore(tmp_path if on_disk else None)
    store.add(drawing(0), 0)
    data = _zip([("a.png", drawing(1)), ("b.png", drawing(2))], "file,label\na.png,1\nb.png,2\n")
    with pytest.raises(PersonalSetError, match="upload.zip: your set would pass its limit of 2 examples"):
        store.import_zip(data, name="upload.zip")
    store.add(drawing(1), 1)
    with pytest.raises(PersonalSetError, match="would pass its limit of 2 examples"):
        store.add(drawing(2), 2)
    assert store.examples()[1].tolist() == [0, 1]


def test_a_missing_zip_file_is_one_sentence(tmp_path):
    with pytest.raises(PersonalSetError, match="cannot be read"):
        PersonalStore(tmp_path).import_zip(tmp_path / "nowhere.zip")


def test_taught_weights_are_kept_beside_the_examples_and_forgotten_on_reset(tmp_path):
    from handdigit import Recognizer

    shipped = Recognizer.load()
    store = PersonalStore(tmp_path)
    assert store.load_taught("abc") is None
    store.save_taught(shipped, taught_from="abc")
    with pytest.raises(PersonalSetError, match="taught from other shipped weights"):
        store.load_taught("def")  # an older version's shipped weights: not used
    loaded = store.load_taught("abc")
    assert loaded.weights_path == tmp_path / "taught.npz"
    for name, value in shipped.model.get_weights().items():
        np.testing.assert_array_equal(loaded.model.get_weights()[name], value)
    assert loaded.calibration == shipped.calibration
    store.forget_taught()
    assert store.load_taught("abc") is None and not (tmp_path / "taught.npz").exists()
    memory = PersonalStore(None)
    memory.save_taught(shipped)
    assert memory.load_taught() is shipped


def _png_of(image):
    return personal._png(image)


def test_a_picture_too_large_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    from PIL import Image

    big = Image.new("L", (2100, 2000), 255)  # 4.2 million pixels: a few kB as PNG, 4 MB decoded
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    data = _zip([("big.png", buffer.getvalue())], "file,label\nbig.png,3\n")

    def never(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr("handdigit.recognition.images.load_image", never)
    with pytest.raises(PersonalSetError, match="2100x2000 pixels is more than the 4,000,000 allowed"):
        PersonalStore(tmp_path).import_zip(data)


def test_examples_are_kept_at_most_280_pixels_a_side(tmp_path):
    photo = np.full((1200, 900), 255, np.uint8)
    photo[300:900, 400:500] = 0
    store = PersonalStore(tmp_path)
    store.add(photo, 1)
    data = _zip([("p.png", photo)], "file,label\np.png,1\n")
    store.import_zip(data)
    images, _ = store.examples()
    assert [image.shape for image in images] == [(280, 210), (280, 210)]
    assert images[0][140, 105] < 50 and images[0][10, 10] == 255


def test_a_blank_example_is_refused(tmp_path):
    store = PersonalStore(tmp_path)
    with pytest.raises(PersonalSetError, match="that drawing is blank"):
        store.add(np.full((280, 280), 255, np.uint8), 3)
    data = _zip(
        [("a.png", drawing(1)), ("b.png", np.full((50, 50), 255, np.uint8))], "file,label\na.png,1\nb.png,2\n"
    )
    with pytest.raises(PersonalSetError, match="b.png is blank"):
        store.import_zip(data, name="mine.zip")
    assert len(store) == 0


def test_damaged_zips_and_lists_are_one_sentence(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", "file,label\na.png,1\n")
        archive.writestr("a.png", _png_of(drawing(1)))
    broken = bytearray(buffer.getvalue())
    start = broken.index(b"a.png") + 5  # after the local header's name: the deflated image
    broken[start + 5 : start + 25] = bytes(20)
    with pytest.raises(PersonalSetError, match="upload.zip: damaged"):
        PersonalStore(tmp_path).import_zip(bytes(broken), name="upload.zip")
    huge_field = _zip([("a.png", drawing(1))], "file,label\n" + "x" * 200_000 + ",1\n")
    with pytest.raises(PersonalSetError, match="not a CSV file|not a plain, new file name"):
        PersonalStore(tmp_path).import_zip(huge_field)
    (tmp_path / "personal").mkdir()
    (tmp_path / "personal" / "labels.csv").write_text("file,label\n" + "x" * 200_000 + ",1\n")
    with pytest.raises(PersonalSetError):
        PersonalStore(tmp_path).examples()
    assert len(store_with_bom(tmp_path / "bom")) == 1


def store_with_bom(directory):
    """A labels.csv saved by a spreadsheet, with a byte-order mark, is read."""
    store = PersonalStore(directory)
    store.import_zip(_zip([("a.png", drawing(1))], "\ufefffile,label\na.png,1\n"))
    return store


@pytest.mark.parametrize("on_disk", [True, False])
def test_two_writers_at_once_lose_nothing_and_mix_no_labels(tmp_path, on_disk):
    import threading

    # on disk: two tabs of the app on one folder; in memory: the pad's thread and the teaching thread
    stores = [PersonalStore(tmp_path), PersonalStore(tmp_path)] if on_disk else [PersonalStore(None)] * 2

    def write(store, label):
        for index in range(12):
            image = np.full((40, 40), 255, np.uint8)
            image[5:35, 3 * label + 1 : 3 * label + 4] = index  # the label shows in the picture
            store.add(image, label)

    threads = [
        threading.Thread(target=write, args=(store, label))
        for store, label in zip(stores, (2, 7), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    images, labels = stores[0].examples()
    assert sorted(labels.tolist()) == [2] * 12 + [7] * 12
    for image, label in zip(images, labels, strict=True):
        assert image[20, 3 * label + 2] < 255  # each picture kept with its own label
