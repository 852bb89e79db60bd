"""Pure parsing of what a photo's EXIF says: when (date), where (GPS) and with what (camera).

Input is Pillow's `Image.Exif`. Cameras and editors write every kind of nonsense, so nothing here
raises on a value: an unusable one is left out and a note says why (the ingest lists the notes).
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, DATETIME, ORIENTATION = 0x010F, 0x0110, 0x0132, 0x0112
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6
# The first photograph was taken in 1826; a date after tomorrow is a clock that was never set.
EARLIEST_YEAR = 1826
MAX_TEXT = 64
MAX_ALTITUDE_M = 100_000  # above that it isn't a photo taken on Earth's surface or in a plane
_DATE = re.compile(r"(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


@dataclass
class ExifFacts:
    taken_at: datetime | None = None
    date_source: str | None = None  # "DateTimeOriginal" or "DateTime"
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int | None = None
    notes: list[str] = field(default_factory=list)

    def readable(self) -> dict:
        """The fields shown on the photo page, as JSON values."""
        values = {
            "DateTimeOriginal"
            if self.date_source == "DateTimeOriginal"
            else "DateTime": self.taken_at and self.taken_at.isoformat(),
            "Make": self.camera_make,
            "Model": self.camera_model,
            "Orientation": self.orientation,
            "GPSLatitude": self.latitude,
            "GPSLongitude": self.longitude,
            "GPSAltitude": self.altitude,
        }
        return {key: value for key, value in values.items() if value is not None}


def parse(exif: Image.Exif, *, latest: datetime) -> ExifFacts:
    """Everything usable in `exif`; `latest` is the latest plausible date (now, give or take a day)."""
    facts = ExifFacts()
    base = _safe_dict(exif, facts)
    sub = _safe_ifd(exif, EXIF_IFD, facts)
    gps = _safe_ifd(exif, GPS_IFD, facts)
    _read_date(
        facts,
        [("DateTimeOriginal", sub.get(DATETIME_ORIGINAL)), ("DateTime", base.get(DATETIME))],
        latest,
    )
    _read_gps(facts, gps)
    facts.camera_make = text(base.get(MAKE))
    facts.camera_model = text(base.get(MODEL))
    orientation = base.get(ORIENTATION)
    facts.orientation = (
        orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
    )
    return facts


def parse_date(value) -> datetime | None:
    """An EXIF "YYYY:MM:DD HH:MM:SS" (bytes or str, NULs and spaces around it allowed) → datetime."""
    raw = text(value, limit=40)
    match = _DATE.fullmatch(raw or "")
    if not match:
        return None
    try:
        return datetime(*map(int, match.groups()))
    except ValueError:  # 0000:00:00, month 13, 31 February…
        return None


def to_degrees(value) -> float | None:
    """GPS (degrees, minutes, seconds) rationals → decimal degrees; None when any part is unusable
    (a zero denominator reads as NaN, a missing part, a negative minute)."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    return sum(part / 60**power for power, part in enumerate(parts))


def text(value, limit: int = MAX_TEXT) -> str | None:
    """A printable string from an EXIF text value (bytes or str), or None when nothing is left."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(char for char in value.replace("\x00", " ") if char.isprintable()).strip()
    return cleaned[:limit] or None


def _read_date(facts: ExifFacts, candidates, latest: datetime) -> None:
    for source, value in candidates:
        if value is None:
            continue
        moment = parse_date(value)
        if moment is None:
            facts.notes.append(f"EXIF {source} {text(value, 40)!r} is not a date; ignored.")
        elif not moment.year >= EARLIEST_YEAR or moment > latest:
            facts.notes.append(f"EXIF {source} {moment:%Y-%m-%d} is not a plausible date; ignored.")
        else:
            facts.taken_at, facts.date_source = moment, source
            return


def _read_gps(facts: ExifFacts, gps: dict) -> None:
    if GPS_LAT not in gps and GPS_LON not in gps:
        return
    latitude = _signed(to_degrees(gps.get(GPS_LAT)), gps.get(GPS_LAT_REF), "S")
    longitude = _signed(to_degrees(gps.get(GPS_LON)), gps.get(GPS_LON_REF), "W")
    if latitude is None or longitude is None:
        facts.notes.append(
            "EXIF GPS position is unreadable (a missing or zero-denominator value); ignored."
        )
        return
    if abs(latitude) > 90 or abs(longitude) > 180:
        facts.notes.append(
            f"EXIF GPS position {latitude:.6g}, {longitude:.6g} is off the globe; ignored."
        )
        return
    facts.latitude, facts.longitude = round(latitude, 7), round(longitude, 7)
    facts.altitude = _altitude(gps.get(GPS_ALT), gps.get(GPS_ALT_REF))


def _signed(degrees: float | None, ref, negative: str) -> float | None:
    if degrees is None:
        return None
    return -degrees if (text(ref, 2) or "").upper().startswith(negative) else degrees


def _altitude(value, ref) -> float | None:
    try:
        metres = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(metres) or abs(metres) > MAX_ALTITUDE_M:
        return None
    below = ref in (1, b"\x01", "\x01")  # GPSAltitudeRef 1: below sea level
    return round(-metres if below else metres, 2)


def _safe_dict(exif: Image.Exif, facts: ExifFacts) -> dict:
    try:
        return dict(exif)
    except Exception:  # Pillow parses lazily, and a garbage block fails in many ways
        facts.notes.append("The EXIF block is unreadable; ignored.")
        return {}


def _safe_ifd(exif: Image.Exif, tag: int, facts: ExifFacts) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        facts.notes.append(
            f"The EXIF {'GPS' if tag == GPS_IFD else 'Exif'} section is unreadable; ignored."
        )
        return {}
