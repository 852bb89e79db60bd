"""The one image path: bytes or a file → upright RGB → fitted and padded onto a white square.

Training, the web page, the API, the TCP server, the bot and the scraper's checks all call
these functions; nothing else in the project decodes, orients, converts or pads images.
"""

import codecs
import io
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from preprocessing.errors import CorruptImage, ImageTooLarge, UnsupportedImage

IMAGE_SIZE = 240
DEFAULT_MAX_PIXELS = 40_000_000
# Identified from the content. Phones' multi-picture JPEGs (MPO) open through the JPEG plugin.
SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
WHITE = (255, 255, 255)
EXIF_ORIENTATION = 0x0112
HIGH_BIT_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

# The pixel limit is ours (`max_pixels`); Pillow's own bomb warning would only print noise on stderr.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

Source = bytes | bytearray | memoryview | str | os.PathLike


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # upright RGB, possibly reduced by JPEG draft mode
    format: str  # as identified from the content: JPEG, PNG, GIF, WEBP, BMP, TIFF
    original_size: tuple[int, int]  # upright (width, height) of the full-size image
    exif: Image.Exif  # the file's EXIF as written (its orientation tag not yet applied); empty if none or unreadable


def decode(
    source: Source, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None
) -> DecodedImage:
    """Decode an image from bytes or a path into upright RGB.

    `draft_size` lets JPEGs decode at a reduced scale (1/2, 1/4, 1/8) that still has every pixel
    needed to fit the picture inside a `draft_size`×`draft_size` square, which is several times
    faster for phone photos.
    Raises UnsupportedImage, CorruptImage or ImageTooLarge; OSError if a path can't be read.
    """
    data = _read(source)
    if not data:
        raise UnsupportedImage("The file is empty.")
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except UnidentifiedImageError:
        raise UnsupportedImage(_describe_non_image(data)) from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            f"The image has too many pixels (limit {max_pixels / 1e6:g} megapixels)."
        ) from None
    except Exception as exc:  # Pillow raises many kinds on a damaged header
        raise CorruptImage(
            f"The {_guess_format(data)} file is damaged and can't be read ({exc})."
        ) from None

    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:g} megapixels."
        )
    exif = _exif(image)
    orientation = exif.get(EXIF_ORIENTATION)
    original_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if draft_size and image.format in ("JPEG", "MPO"):
        image.draft(
            image.mode if image.mode in ("RGB", "L") else None, _fitted_size(image.size, draft_size)
        )
    try:
        image.load()
    except Exception as exc:  # truncated or corrupt pixel data: any decoder error means "damaged"
        raise CorruptImage(
            f"The {image.format} image is damaged or cut short and can't be read ({exc})."
        ) from None

    fmt = image.format or ""
    try:
        if orientation not in (None, 1):
            image = ImageOps.exif_transpose(image)
        rgb = to_rgb(image)
    except Exception as exc:  # an exotic mode or a broken orientation tag Pillow can't apply
        raise CorruptImage(f"The {fmt} image can't be converted to RGB ({exc}).") from None
    return DecodedImage(image=rgb, format=fmt, original_size=original_size, exif=exif)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited on white."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in HIGH_BIT_DEPTH_MODES:
        return _scale_to_8_bit(image).convert("RGB")
    if image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, WHITE)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _fitted_size(size: tuple[int, int], box: int) -> tuple[int, int]:
    """The size a picture takes once fitted inside box×box (rounded up, so never too small)."""
    width, height = size
    scale = min(box / width, box / height)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def fit_and_pad(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Scale to fit inside size×size keeping the aspect ratio (up or down), centre on white."""
    image = to_rgb(image)
    width, height = image.size
    scale = min(size / width, size / height)
    fitted = (min(size, max(1, round(width * scale))), min(size, max(1, round(height * scale))))
    if fitted != image.size:
        image = image.resize(fitted, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size), WHITE)
    canvas.paste(image, ((size - fitted[0]) // 2, (size - fitted[1]) // 2))
    return canvas


def load_padded(
    source: Source, size: int = IMAGE_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """The whole path in one call: decode, orient, convert, fit and pad."""
    return fit_and_pad(decode(source, max_pixels=max_pixels, draft_size=size).image, size)


def to_array(image: Image.Image) -> np.ndarray:
    """The model's input: float32 RGB, values 0–255, shape (height, width, 3)."""
    return np.asarray(to_rgb(image), dtype=np.float32)


def _read(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return Path(source).read_bytes()


def _exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:  # a damaged EXIF block should not cost the user the photo
        return Image.Exif()


def _scale_to_8_bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit grey to 8 bits: map the 16-bit range onto 0–255 instead of clipping it.

    16-bit modes always span 0–65535 (a dark 16-bit picture stays dark); 32-bit integer and float
    pictures carry no range, so they are read as 8-bit values unless they exceed 255.
    """
    values = np.asarray(image, dtype=np.float32)
    if image.mode.startswith("I;16") or values.max(initial=0) > 255:
        values = values * (255 / 65535)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def _guess_format(data: bytes) -> str:
    signatures = {
        b"\xff\xd8": "JPEG",
        b"\x89PNG": "PNG",
        b"GIF8": "GIF",
        b"BM": "BMP",
        b"RIFF": "WebP",
    }
    for signature, name in signatures.items():
        if data.startswith(signature):
            return name
    return "image"


def _describe_non_image(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    brand = data[8:12] if data[4:8] == b"ftyp" else b""  # ISO media files: HEIC, AVIF, MP4
    if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis"):
        kind = "AVIF" if brand.startswith(b"avi") else "HEIC"
        return f"{kind} images are not supported; save the photo as JPEG or PNG (most phones can)."
    if head.startswith(b"%pdf"):
        kind = "a PDF document"
    elif b"<svg" in head:
        kind = "an SVG drawing"
    elif head.startswith((b"<!doctype html", b"<html")) or b"<head" in head or b"<body" in head:
        kind = "an HTML page"
    elif head.startswith(b"<"):
        kind = "an XML or HTML document"
    elif _is_text(data[:1024]):
        kind = "plain text"
    else:
        return "This is not a supported image; use JPEG, PNG, GIF, WebP, BMP or TIFF."
    return f"This is {kind}, not a photo; use JPEG, PNG, GIF, WebP, BMP or TIFF."


def _is_text(sample: bytes) -> bool:
    try:  # an incremental decoder forgives a character cut in two at the end of the sample
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return b"\0" not in sample
