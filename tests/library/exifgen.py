"""Generated photos with real EXIF written by Pillow: dates, GPS, camera, orientation."""

import io
from datetime import datetime

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from library.exif import DATETIME, DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD, MAKE, MODEL, ORIENTATION
from tests.imagegen import shape_image


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Decimal degrees → (degrees, minutes, seconds) rationals, as cameras write them."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (
        IFDRational(degrees, 1),
        IFDRational(minutes, 1),
        IFDRational(round(seconds * 10_000), 10_000),
    )


def make_exif(
    *,
    taken: str | datetime | None = None,
    datetime_tag: str | None = None,
    gps: tuple | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    make: str | None = "Canon",
    model: str | None = "EOS 5D",
    raw_gps: dict | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[MAKE] = make
    if model:
        exif[MODEL] = model
    if orientation:
        exif[ORIENTATION] = orientation
    if datetime_tag:
        exif[DATETIME] = datetime_tag
    if taken:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = (
            taken if isinstance(taken, str) else f"{taken:%Y:%m:%d %H:%M:%S}"
        )
    if gps:
        latitude, longitude = gps
        section = exif.get_ifd(GPS_IFD)
        section[1], section[2] = ("N" if latitude >= 0 else "S"), dms(latitude)
        section[3], section[4] = ("E" if longitude >= 0 else "W"), dms(longitude)
        if altitude is not None:
            section[5], section[6] = (
                (b"\x01" if altitude < 0 else b"\x00"),
                IFDRational(round(abs(altitude) * 100), 100),
            )
    if raw_gps:
        exif.get_ifd(GPS_IFD).update(raw_gps)
    return exif


def photo(
    label: str = "cat",
    seed: int = 0,
    size=(320, 240),
    fmt: str = "JPEG",
    exif: Image.Exif | None = None,
    image: Image.Image | None = None,
) -> bytes:
    """A generated picture encoded with the EXIF given (none when None)."""
    picture = image or shape_image(label, seed, size)
    buffer = io.BytesIO()
    params = {"exif": exif} if exif is not None else {}
    picture.save(buffer, fmt, **params)
    return buffer.getvalue()


def reopened(exif: Image.Exif, fmt: str = "JPEG") -> Image.Exif:
    """The EXIF as a reader sees it after Pillow wrote it into a file."""
    return Image.open(io.BytesIO(photo(fmt=fmt, exif=exif))).getexif()


def with_garbage_exif(data: bytes, size: int = 64 * 1024 - 16, seed: int = 7) -> bytes:
    """A JPEG whose APP1 Exif segment is `size` bytes of noise (a segment holds at most 64 KB)."""
    import random

    noise = random.Random(seed).randbytes(size)
    segment = b"Exif\x00\x00" + noise
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    return data[:2] + app1 + data[2:]
