"""Decoding: every accepted input path with real files made here, and damaged files made here too."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from handdigit.preprocess import rasterize, to_mnist
from handdigit.recognition.images import MAX_FILE_BYTES, UnreadableImage, load_image

SEVEN = rasterize([[(70, 60), (210, 60), (120, 240)]], 280, 16)  # uint8, dark ink on white


def reference_view():
    return to_mnist(SEVEN.astype(np.float32) / 255)


def view(source, **kwargs):
    luminance, alpha = load_image(source, **kwargs)
    return to_mnist(luminance, alpha)


def assert_same_digit(source, atol=0.08):
    result = view(source)
    assert result is not None
    assert np.abs(result - reference_view()).mean() < atol


def encoded(image, fmt, **params):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "convert", "params"),
    [
        ("PNG", "L", {}),
        ("PNG", "RGB", {}),
        ("PNG", "P", {}),
        ("JPEG", "RGB", {"quality": 90}),
        ("JPEG", "CMYK", {"quality": 90}),
        ("GIF", "P", {}),
        ("BMP", "RGB", {}),
        ("TIFF", "L", {}),
        ("WEBP", "RGB", {"quality": 90}),
    ],
)
def test_every_format_decodes_to_the_same_digit(tmp_path, fmt, convert, params):
    image = Image.fromarray(SEVEN).convert(convert)
    data = encoded(image, fmt, **params)
    path = tmp_path / f"seven.{fmt.lower()}"
    path.write_bytes(data)
    for source in (path, str(path), data, io.BytesIO(data)):
        assert_same_digit(source)


def test_sixteen_bit_png(tmp_path):
    wide = (SEVEN.astype(np.uint16) * 257).astype(np.uint16)
    path = tmp_path / "seven16.png"
    Image.fromarray(wide).save(path)
    assert Image.open(path).mode.startswith("I")
    assert_same_digit(path)


def test_transparent_png_is_composited_on_white(tmp_path):
    """Black ink only in the alpha channel (a typical transparent drawing) reads as the digit."""
    rgba = np.zeros((*SEVEN.shape, 4), np.uint8)
    rgba[..., 3] = 255 - SEVEN
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert_same_digit(path, atol=0.02)
    palette = Image.fromarray(rgba, "RGBA").convert("P")  # palette PNG with transparency
    assert_same_digit(encoded(palette, "PNG"), atol=0.1)


def test_exif_orientation_is_applied(tmp_path):
    """A JPEG stored rotated with an EXIF 'rotate 90' tag is read upright."""
    stored = Image.fromarray(SEVEN).rotate(90, expand=True)  # what the camera stored
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer must rotate 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    stored.convert("RGB").save(path, quality=95, exif=exif)
    assert_same_digit(path)


def test_gif_uses_the_first_frame(tmp_path):
    first = Image.fromarray(SEVEN).convert("P")
    second = Image.fromarray(np.full_like(SEVEN, 255)).convert("P")
    path = tmp_path / "animated.gif"
    first.save(path, save_all=True, append_images=[second], duration=100)
    assert_same_digit(path)


@pytest.mark.parametrize(
    "array",
    [
        SEVEN,
        SEVEN.astype(np.float32) / 255,
        np.stack([SEVEN] * 3, axis=-1),
        np.dstack([np.stack([SEVEN] * 3, axis=-1), np.full(SEVEN.shape, 255, np.uint8)]),
        SEVEN[:, :, None],
        (255 - SEVEN).astype(np.float64) / 255,  # white on black
        SEVEN > 128,
    ],
    ids=["grey-uint8", "grey-float", "rgb", "rgba", "hw1", "inverted-float64", "bool"],
)
def test_numpy_arrays_and_pil_images(array):
    assert_same_digit(array)
    if array.dtype == np.uint8:
        assert_same_digit(Image.fromarray(array.squeeze()))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((0, 5)), "empty"),
        (np.zeros((4, 4, 5)), "must be"),
        (np.full((4, 4), 2.0), r"\[0, 1\]"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.zeros((4, 4), np.int64), "unsupported array dtype"),
        (np.zeros((2, 2, 2, 2)), "must be"),
    ],
)
def test_bad_arrays(array, message):
    with pytest.raises(UnreadableImage, match=message):
        load_image(array)


def huge_png(width, height):
    """A valid PNG header declaring width x height pixels (with a tiny, wrong body)."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: encoded(Image.fromarray(SEVEN), "PNG")[:300], "damaged or unsupported"),
        (lambda: encoded(Image.fromarray(SEVEN).convert("RGB"), "JPEG")[:400], "damaged or unsupported"),
        (lambda: b"", "empty"),
        (lambda: b"hello, this is not an image", "not an image file"),
        (lambda: huge_png(100_000, 100_000), "decompression bomb|pixels is more than"),
        (lambda: huge_png(7000, 7000), "pixels is more than"),
    ],
    ids=["truncated-png", "truncated-jpeg", "zero-bytes", "text", "bomb", "too-many-pixels"],
)
def test_damaged_files_get_one_clear_error(tmp_path, make, message):
    path = tmp_path / "upload.png"
    path.write_bytes(make())
    with pytest.raises(UnreadableImage, match=message) as error:
        load_image(path)
    assert "upload.png" in str(error.value)


def test_wrong_extension_is_decoded_by_content_and_a_text_file_is_refused(tmp_path):
    misnamed = tmp_path / "digit.jpg"
    misnamed.write_bytes(encoded(Image.fromarray(SEVEN), "PNG"))
    assert_same_digit(misnamed)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(UnreadableImage, match="notes.png: not an image file"):
        load_image(text)


def test_missing_directories_oversized_and_odd_sources(tmp_path):
    with pytest.raises(UnreadableImage, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(UnreadableImage, match="directory"):
        load_image(tmp_path)
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
    with pytest.raises(UnreadableImage, match="larger than"):
        load_image(big)
    with pytest.raises(UnreadableImage, match="cannot read an image from a int"):
        load_image(42)
    with pytest.raises(UnreadableImage, match="binary mode"):
        load_image(io.StringIO("text"))


def test_uint16_arrays_of_eight_bit_values_read_as_eight_bit_and_sixteen_bit_ones_as_sixteen():
    assert_same_digit(SEVEN.astype(np.uint16))
    assert_same_digit(SEVEN.astype(np.uint16) * 257)


def test_pipes_devices_and_nul_bytes_get_a_clear_error_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    with pytest.raises(UnreadableImage, match="not a regular file"):
        load_image(fifo)
    with pytest.raises(UnreadableImage, match="not a regular file"):
        load_image("/dev/zero")  # endless: reading it would fill the memory
    with pytest.raises(UnreadableImage, match="not a valid file name"):
        load_image("seven\0.png")


def test_a_closed_pil_image_and_a_damaged_lazy_one_get_a_clear_error(tmp_path):
    closed = Image.fromarray(SEVEN)
    closed.close()
    with pytest.raises(UnreadableImage, match="closed"):
        load_image(closed)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(encoded(Image.fromarray(SEVEN), "PNG")[:200])
    with pytest.raises(UnreadableImage, match="damaged"):
        load_image(Image.open(truncated))
