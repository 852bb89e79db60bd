"""The one image path: formats identified from content, every mode to RGB, EXIF orientation,
refusals with typed errors, the pixel-bomb guard, JPEG draft mode and fit-and-pad."""

import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from preprocessing import (
    IMAGE_SIZE,
    CorruptImage,
    ImageError,
    ImageTooLarge,
    UnsupportedImage,
    decode,
    fit_and_pad,
    load_padded,
    to_array,
)
from tests.preprocessing.helpers import encoded, photo, png_chunk

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def close(pixel, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, pixels: bytes) -> bytes:
    """A PNG written by hand, for layouts Pillow cannot save (48-bit RGB) or headers that lie."""
    header = (
        width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + bytes([bit_depth, colour_type, 0, 0, 0])
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(pixels))
        + png_chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- fit and pad


def content_box(image: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of everything that is not the white padding."""
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels != 255).any(axis=(1, 2)))
    cols = np.flatnonzero((pixels != 255).any(axis=(0, 2)))
    return cols[0], rows[0], cols[-1] + 1, rows[-1] + 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 3000),
    height=st.integers(1, 3000),
    size=st.sampled_from([IMAGE_SIZE, 97, 32]),
)
def test_fit_and_pad_keeps_the_aspect_and_centres_on_a_white_square(width, height, size):
    padded = fit_and_pad(Image.new("RGB", (width, height), (200, 30, 60)), size)

    assert padded.mode == "RGB" and padded.size == (size, size)
    left, top, right, bottom = content_box(padded)
    fitted_w, fitted_h = right - left, bottom - top
    scale = min(size / width, size / height)
    assert max(fitted_w, fitted_h) == size  # scaled up or down until it touches the square
    # aspect within a pixel
    assert abs(fitted_w - width * scale) <= 1 and abs(fitted_h - height * scale) <= 1
    assert abs(left - (size - right)) <= 1 and abs(top - (size - bottom)) <= 1  # centred
    assert padded.getpixel((left + fitted_w // 2, top + fitted_h // 2)) == (200, 30, 60)


@settings(max_examples=40, deadline=None)
@given(
    mode=st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16", "I", "F"]),
    width=st.integers(1, 400),
    height=st.integers(1, 400),
)
def test_fit_and_pad_accepts_every_mode(mode, width, height):
    padded = fit_and_pad(Image.new(mode, (width, height)))
    assert padded.mode == "RGB" and padded.size == (IMAGE_SIZE, IMAGE_SIZE)


def test_to_array_is_the_models_float_input():
    array = to_array(load_padded(encoded(photo(1))))
    assert array.dtype == np.float32 and array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    assert array.min() >= 0 and array.max() <= 255 and array.max() > 1


# ---------------------------------------------------------------- formats and modes


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
        ("TIFF", {}),
    ],
)
def test_every_supported_format_decodes_from_bytes_and_paths(fmt, params, tmp_path: Path):
    picture = Image.new("RGB", (64, 48), BLUE)
    ImageDraw.Draw(picture).rectangle((0, 0, 15, 15), fill=RED)
    data = encoded(picture, fmt, **params)
    path = tmp_path / "picture.bin"  # the name says nothing; the content decides
    path.write_bytes(data)

    for source in (data, bytearray(data), memoryview(data), path, str(path)):
        decoded = decode(source)
        assert decoded.format == fmt and decoded.original_size == (64, 48)
        assert decoded.image.mode == "RGB"
        assert close(decoded.image.getpixel((4, 4)), RED, 40) and close(
            decoded.image.getpixel((50, 30)), BLUE, 40
        )


def test_a_lying_extension_changes_nothing(tmp_path: Path):
    png_named_jpg = tmp_path / "photo.jpg"
    png_named_jpg.write_bytes(encoded(photo(1)))
    jpeg_named_png = tmp_path / "photo.png"
    jpeg_named_png.write_bytes(encoded(photo(2), "JPEG"))
    webp_named_gif = tmp_path / "photo.gif"
    webp_named_gif.write_bytes(encoded(photo(3), "WEBP"))
    assert decode(png_named_jpg).format == "PNG"
    assert decode(jpeg_named_png).format == "JPEG"
    assert decode(webp_named_gif).format == "WEBP"


def test_gif_and_webp_animations_give_their_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in (RED, GREEN, BLUE)]
    for fmt in ("GIF", "WEBP"):
        data = encoded(
            frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0
        )
        assert close(decode(data).image.getpixel((16, 16)), RED, 20), fmt


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (20, 10), 0)
    image.putpalette(list(RED) + list(GREEN) + [0] * (254 * 3))
    ImageDraw.Draw(image).rectangle((10, 0, 19, 9), fill=1)
    if transparent:
        image.info["transparency"] = 1
    return image


def la_image() -> Image.Image:
    image = Image.new("LA", (20, 10), (90, 255))
    ImageDraw.Draw(image).rectangle((10, 0, 19, 9), fill=(0, 0))
    return image


def rgba_image() -> Image.Image:
    image = Image.new("RGBA", (20, 10), (*RED, 255))
    ImageDraw.Draw(image).rectangle((10, 0, 19, 9), fill=(*BLUE, 0))
    return image


# (name, encoded bytes, expected left pixel, expected right pixel); transparency composites on white
MODE_CASES = [
    ("P", lambda: encoded(palette_image(False), "PNG"), RED, GREEN),
    ("P transparent PNG", lambda: encoded(palette_image(True), "PNG", transparency=1), RED, WHITE),
    ("P transparent GIF", lambda: encoded(palette_image(True), "GIF", transparency=1), RED, WHITE),
    ("LA", lambda: encoded(la_image(), "PNG"), (90, 90, 90), WHITE),
    ("RGBA", lambda: encoded(rgba_image(), "PNG"), RED, WHITE),
    ("RGBA WebP", lambda: encoded(rgba_image(), "WEBP", lossless=True), RED, WHITE),
    (
        "RGB with tRNS",
        lambda: encoded(Image.new("RGB", (20, 10), BLUE), "PNG", transparency=BLUE),
        WHITE,
        WHITE,
    ),
    (
        "CMYK JPEG",
        lambda: encoded(Image.new("CMYK", (20, 10), (0, 255, 255, 0)), "JPEG", quality=95),
        RED,
        RED,
    ),
    (
        "CMYK TIFF",
        lambda: encoded(Image.new("CMYK", (20, 10), (255, 0, 255, 0)), "TIFF"),
        GREEN,
        GREEN,
    ),
    ("L", lambda: encoded(Image.new("L", (20, 10), 77), "PNG"), (77, 77, 77), (77, 77, 77)),
    ("1-bit", lambda: encoded(Image.new("1", (20, 10), 1), "PNG"), WHITE, WHITE),
    ("1-bit BMP", lambda: encoded(Image.new("1", (20, 10), 0), "BMP"), BLACK, BLACK),
    ("I;16 PNG", lambda: encoded(Image.new("I;16", (20, 10), 65535), "PNG"), WHITE, WHITE),
    ("I;16 dark PNG", lambda: encoded(Image.new("I;16", (20, 10), 200), "PNG"), BLACK, BLACK),
    (
        "I;16 TIFF",
        lambda: encoded(Image.new("I;16", (20, 10), 32896), "TIFF"),
        (128, 128, 128),
        (128, 128, 128),
    ),
    (
        "48-bit RGB PNG",
        lambda: raw_png(2, 1, 16, 2, b"\0" + bytes.fromhex("ffff0000000000000000ffff")),
        RED,
        BLUE,
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "left", "right"), MODE_CASES, ids=[case[0] for case in MODE_CASES]
)
def test_every_mode_becomes_rgb_with_transparency_on_white(name, make, left, right):
    image = decode(make()).image
    assert image.mode == "RGB"
    width, height = image.size
    assert close(image.getpixel((0, height // 2)), left), image.getpixel((0, height // 2))
    assert close(image.getpixel((width - 1, height // 2)), right), image.getpixel(
        (width - 1, height // 2)
    )
    assert load_padded(make()).size == (IMAGE_SIZE, IMAGE_SIZE)


# ---------------------------------------------------------------- EXIF orientation

# Where the upright picture's top-left (red) and top-right (green) corners are stored, for each
# EXIF orientation, and whether the stored picture is on its side. From the EXIF specification.
STORED_CORNERS = {
    1: ("top-left", "top-right", False),
    2: ("top-right", "top-left", False),
    3: ("bottom-right", "bottom-left", False),
    4: ("bottom-left", "bottom-right", False),
    5: ("top-left", "bottom-left", True),
    6: ("bottom-left", "top-left", True),
    7: ("bottom-right", "top-right", True),
    8: ("top-right", "bottom-right", True),
}


def corner_box(corner: str, width: int, height: int, side: int = 12) -> tuple[int, int, int, int]:
    vertical, horizontal = corner.split("-")
    x = 0 if horizontal == "left" else width - side
    y = 0 if vertical == "top" else height - side
    return x, y, x + side - 1, y + side - 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_turns_the_picture_upright(orientation):
    upright_size = (60, 40)
    red_at, green_at, on_its_side = STORED_CORNERS[orientation]
    stored_size = upright_size[::-1] if on_its_side else upright_size
    stored = Image.new("RGB", stored_size, BLUE)
    draw = ImageDraw.Draw(stored)
    draw.rectangle(corner_box(red_at, *stored_size), fill=RED)
    draw.rectangle(corner_box(green_at, *stored_size), fill=GREEN)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(stored, "JPEG", quality=95, exif=exif.tobytes())

    decoded = decode(data)

    assert decoded.image.size == decoded.original_size == upright_size
    assert decoded.format == "JPEG"  # turning the picture must not lose what it was
    assert close(decoded.image.getpixel((5, 5)), RED, 40)
    assert close(decoded.image.getpixel((54, 5)), GREEN, 40)
    assert close(decoded.image.getpixel((30, 34)), BLUE, 40)


def test_damaged_exif_does_not_cost_the_photo():
    data = bytearray(encoded(photo(1), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"))
    assert decode(bytes(data)).image.size == (300, 240)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (
            b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found</body></html>",
            "HTML",
        ),
        (b"  <html><body><img src='cat.jpg'></body></html>", "HTML"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
            "SVG",
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", "PDF"),
        (b"cat, dog, hamster\n" * 100, "text"),
        (("x" + "é" * 600).encode(), "text"),  # a character cut in two where the sniffing stops
        (b"\0\0\0\x1cftypheic\0\0\0\0mif1heic" + bytes(64), "HEIC"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1" + bytes(64), "AVIF"),
        (bytes(range(256)) * 4, "not a supported image"),
    ],
)
def test_non_images_are_refused_with_a_clear_typed_error(content, words):
    with pytest.raises(UnsupportedImage, match=words):
        decode(content)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_truncated_files_are_corrupt(fmt):
    data = encoded(photo(4, (200, 160)), fmt)
    with pytest.raises(CorruptImage, match="damaged"):
        decode(data[: len(data) // 2])


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(0, 4000), data=st.data())
def test_any_damage_gives_an_image_error_and_never_anything_else(cut, data):
    original = encoded(
        photo(5, (64, 48)),
        data.draw(st.sampled_from(["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])),
    )
    damaged = bytearray(original[: max(1, cut % (len(original) + 1))])
    for position in data.draw(st.lists(st.integers(0, len(damaged) - 1), max_size=4)):
        damaged[position] ^= 0xFF
    try:
        image = decode(bytes(damaged)).image
    except ImageError:
        return
    assert image.mode == "RGB"


def test_an_unreadable_path_raises_oserror(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        decode(tmp_path / "missing.jpg")


# ---------------------------------------------------------------- pixel bombs and draft mode


@pytest.mark.parametrize("side", [10_000, 20_000, 100_000])
def test_pixel_bombs_are_refused_from_the_header_before_decoding(side):
    header_only = raw_png(side, side, 8, 2, b"")  # claims side² pixels, carries none
    with pytest.raises(ImageTooLarge, match="megapixels"):
        decode(header_only)


def test_the_pixel_limit_is_configurable():
    data = encoded(photo(1, (400, 300)))
    assert decode(data, max_pixels=120_000).original_size == (400, 300)
    with pytest.raises(ImageTooLarge, match="0.1 megapixels"):
        decode(data, max_pixels=100_000)
    with pytest.raises(ImageTooLarge):
        load_padded(data, max_pixels=100_000)


def test_big_jpegs_decode_in_draft_mode():
    data = encoded(photo(2, (3200, 2400)), "JPEG", quality=85)
    drafted = decode(data, draft_size=IMAGE_SIZE)
    assert drafted.original_size == (3200, 2400)
    assert drafted.image.size == (400, 300)  # an eighth: the smallest scale still covering 240×180
    assert decode(data).image.size == (3200, 2400)
    padded = load_padded(data)
    assert padded.size == (IMAGE_SIZE, IMAGE_SIZE)
    assert close(
        padded.getpixel((120, 120)), fit_and_pad(decode(data).image).getpixel((120, 120)), 8
    )


def test_draft_mode_fits_the_long_side_so_ordinary_photos_decode_at_half_size():
    data = encoded(photo(3, (500, 375)), "JPEG", quality=90)
    drafted = decode(data, draft_size=IMAGE_SIZE)
    assert drafted.image.size == (250, 188)  # still more than the 240×180 the padded picture needs
    full = fit_and_pad(decode(data).image)
    difference = np.abs(to_array(load_padded(data)) - to_array(full))
    assert difference.mean() < 2 and difference.max() < 40
