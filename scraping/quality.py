"""Is a download a usable photo? Checked by content through the project's one image path."""

import re
from dataclasses import dataclass

from PIL import ImageStat

from preprocessing import DEFAULT_MAX_PIXELS, CorruptImage, ImageTooLarge, UnsupportedImage, decode
from preprocessing.dataset import perceptual_hash, sha256_hex
from scraping.errors import ImageRejected

DEFAULT_MIN_SIDE = 100
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Sites redirect missing sizes and deleted photos to a stock picture with one of these names.
PLACEHOLDER_URL = re.compile(
    r"photo_unavailable|/removed\.(png|jpe?g|gif)$|/images/unavailable", re.I
)
BLANK_STDDEV = 2.0  # grey levels; a photo varies far more than this
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
}
CHECK_SIZE = 256  # decode JPEGs at reduced scale: enough for the hash and the blank test


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    phash: str  # 64-bit perceptual hash, hex
    width: int
    height: int
    extension: str  # from the content, never from the URL


def check_image(
    data: bytes,
    final_url: str = "",
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> CheckedImage:
    """The checked image, or ImageRejected with the reason the summary counts."""
    if PLACEHOLDER_URL.search(final_url):
        raise ImageRejected(
            "placeholder", f"the site answered with its 'photo unavailable' picture ({final_url})"
        )
    try:
        decoded = decode(data, max_pixels=max_pixels, draft_size=CHECK_SIZE)
    except UnsupportedImage as exc:
        raise ImageRejected("not_an_image", str(exc)) from None
    except CorruptImage as exc:
        raise ImageRejected("corrupt", str(exc)) from None
    except ImageTooLarge as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from None
    width, height = decoded.original_size
    if min(width, height) < min_side:
        raise ImageRejected(
            "too_small", f"{width}×{height} is below {min_side} px on the short side"
        )
    grey = decoded.image.convert("L").resize((64, 64))
    if ImageStat.Stat(grey).stddev[0] < BLANK_STDDEV:
        raise ImageRejected(
            "blank", "the image is a single flat colour (a placeholder, not a photo)"
        )
    return CheckedImage(
        data=data,
        sha256=sha256_hex(data),
        phash=perceptual_hash(decoded.image),
        width=width,
        height=height,
        extension=EXTENSIONS.get(decoded.format, decoded.format.lower()),
    )
