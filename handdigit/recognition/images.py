"""Reading whatever image a user gives us into luminance and alpha, with Pillow.

Accepted: paths, bytes, binary file objects, PIL images, and NumPy arrays (2-D grey, 3-D
RGB/RGBA, uint8, uint16, bool or floats in [0, 1]). Formats: whatever Pillow decodes (PNG with
palette, 16-bit or alpha; JPEG in RGB or CMYK with EXIF orientation; GIF's first frame; BMP;
TIFF; WebP). Limits guard against decompression bombs and huge uploads.

Anything that cannot be read raises `UnreadableImage`, whose message a person can act on.
"""

import io
import os
import struct
import warnings

import numpy as np

MAX_FILE_BYTES = 25 * 2**20  # 25 MiB
MAX_PIXELS = 40_000_000  # about a 7,300 x 5,500 photo; Pillow's bomb check allows 89 million
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's convert("L")


class UnreadableImage(ValueError):
    """The input is not an image we can read; the message says why in plain words."""


def load_image(source, name=None):
    """(luminance, alpha) as float32 (H, W) arrays in [0, 1]; alpha is None when fully opaque."""
    if isinstance(source, np.ndarray):
        return _from_array(source)
    try:
        from PIL import Image
    except ImportError as error:  # pragma: no cover - Pillow is a dependency
        raise UnreadableImage("reading image files needs Pillow (pip install pillow)") from error
    if isinstance(source, Image.Image):
        try:
            source.load()
        except ValueError:  # Pillow: "Operation on closed image"
            raise UnreadableImage(
                f"{name or 'image'}: the PIL image is closed; pass it before closing it"
            ) from None
        except (OSError, SyntaxError, EOFError) as error:
            raise UnreadableImage(f"{name or 'image'}: damaged or unsupported image ({error})") from None
        return _from_pil(source, name or "image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "uploaded data"
    elif isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        data = _read_file(source, name)
    elif hasattr(source, "read"):
        name = name or getattr(source, "name", "file object")
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, bytes):
            raise UnreadableImage(f"{name}: open the file in binary mode ('rb')")
    else:
        raise UnreadableImage(f"cannot read an image from a {type(source).__name__}")
    if len(data) == 0:
        raise UnreadableImage(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableImage(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MiB; use a smaller image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            return _from_pil(image, name)
    except UnreadableImage:
        raise
    except Image.DecompressionBombError:
        raise UnreadableImage(f"{name}: declares an enormous size (a decompression bomb?)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as error:
        detail = str(error) or type(error).__name__
        if "cannot identify image file" in detail:
            raise UnreadableImage(f"{name}: not an image file Pillow can decode") from None
        raise UnreadableImage(f"{name}: damaged or unsupported image ({detail})") from None


def _read_file(path, name):
    """The bytes of a regular file of at most MAX_FILE_BYTES; never blocks on a pipe or device."""
    import stat

    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise UnreadableImage(f"{name}: no such file") from None
    except ValueError:  # a NUL byte in the path
        raise UnreadableImage(f"{name!r}: not a valid file name") from None
    except OSError as error:
        raise UnreadableImage(f"{name}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise UnreadableImage(f"{name}: is a directory, not an image file")
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableImage(
            f"{name}: not a regular file (a pipe, socket or device); save the image to a file"
        )
    if status.st_size > MAX_FILE_BYTES:
        raise UnreadableImage(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MiB; use a smaller image")
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
    except OSError as error:
        raise UnreadableImage(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableImage(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MiB; use a smaller image")
    return data


def _from_pil(image, name):
    from PIL import ImageOps

    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UnreadableImage(f"{name}: {width}x{height} pixels is more than the {MAX_PIXELS:,} allowed")
    if width == 0 or height == 0:
        raise UnreadableImage(f"{name}: the image has no pixels")
    image.load()  # decode now: truncated files fail here, inside our error handling
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, np.float32)
        top = 65535.0 if mode != "I" or values.max() > 255 else 255.0
        return np.clip(values / top, 0, 1), None
    if mode == "F":
        return _from_array(np.asarray(image, np.float32))
    if mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    elif mode in ("1", "L"):
        image = image.convert("L")
    elif mode in ("LA", "La"):
        image = image.convert("LA")
    elif mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    return _from_array(np.asarray(image))


def _from_array(array):
    array = np.asarray(array)
    if array.size == 0:
        raise UnreadableImage(f"the array is empty (shape {array.shape})")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise UnreadableImage(
            f"an image array must be (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, got shape {array.shape}"
        )
    if array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif array.dtype == np.uint8:
        values = array.astype(np.float32) / 255
    elif array.dtype == np.uint16:  # 0-255 data stored as uint16 is read as 8-bit, as Pillow's mode "I" is
        values = array.astype(np.float32) / (65535 if array.max() > 255 else 255)
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.all(np.isfinite(values)):
            raise UnreadableImage("the image array contains NaN or infinite values")
        if values.min() < 0 or values.max() > 1:
            raise UnreadableImage(
                f"float image arrays must lie in [0, 1], got values from {values.min():g} to {values.max():g} "
                "(for 0-255 data pass uint8)"
            )
    else:
        raise UnreadableImage(
            f"unsupported array dtype {array.dtype} (use uint8, uint16, bool or float in [0, 1])"
        )
    if values.ndim == 2:
        return values, None
    channels = values.shape[2]
    if channels == 2:  # grey + alpha
        return values[:, :, 0], _alpha_or_none(values[:, :, 1])
    luminance = values[:, :, :3] @ LUMA
    alpha = _alpha_or_none(values[:, :, 3]) if channels == 4 else None
    return np.clip(luminance, 0, 1), alpha


def _alpha_or_none(alpha):
    return None if np.all(alpha >= 1.0) else np.ascontiguousarray(alpha)
