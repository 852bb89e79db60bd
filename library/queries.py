"""Finding library photos: filters parsed from a query string or the CLI, applied in SQL, paged.

A radius ("within 50 km of LAT,LON") first keeps the rows inside the circle's bounding box, which
the (latitude, longitude, taken_at) index answers, then measures each one's haversine distance,
in SQL too, so counting and paging stay in the database.
"""

import math
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from library.errors import InvalidFilter
from library.geo import EARTH_RADIUS_KM, bounding_box
from store import LibraryPhoto, LibraryTag

FILTER_NAMES = ("class", "tag", "from", "to", "near", "within_km", "place", "without_gps")
PAGING_NAMES = ("page", "per_page")
WITHOUT_GPS = ("include", "exclude", "only")
MAX_PER_PAGE = 500
# The map's markers: a point is about 80 bytes of JSON, so a page is under 1 MB.
MAX_POINTS_PER_PAGE = 10_000
MAX_VALUES = 50  # classes or tags in one filter
MAX_TEXT = 128
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)


@dataclass(frozen=True)
class Filters:
    """What to find. Empty fields filter nothing. `without_gps` None means: "include" unless
    `near` is set, when photos without a position can't be near anything."""

    classes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None  # inclusive: the whole day
    near: tuple[float, float] | None = None
    within_km: float | None = None
    place: str | None = None
    without_gps: str | None = None

    @classmethod
    def parse(cls, values: Mapping) -> "Filters":
        """From a mapping of the filter names (a query string's MultiDict, or a dict whose values are
        strings or lists). `page` and `per_page` are left to `paging`; any other name is an error."""
        unknown = sorted(set(values) - set(FILTER_NAMES) - set(PAGING_NAMES))
        if unknown:
            raise InvalidFilter(
                unknown[0],
                f"Unknown filter {unknown[0]!r}; the filters are {', '.join(FILTER_NAMES)}.",
            )
        get = _getter(values)
        filters = cls(
            classes=_names("class", get("class")),
            tags=_names("tag", get("tag")),
            date_from=_date("from", _one("from", get("from"))),
            date_to=_date("to", _one("to", get("to"))),
            near=_position(_one("near", get("near"))),
            within_km=_distance(_one("within_km", get("within_km"))),
            place=_text("place", _one("place", get("place"))),
            without_gps=_choice("without_gps", _one("without_gps", get("without_gps"))),
        )
        filters.check()
        return filters

    def check(self) -> None:
        """Combinations that can't mean anything."""
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidFilter(
                "from", f"'from' ({self.date_from}) is after 'to' ({self.date_to})."
            )
        if (self.near is None) != (self.within_km is None):
            field_name = "within_km" if self.near else "near"
            raise InvalidFilter(
                field_name, "'near' (LAT,LON) and 'within_km' go together: give both or neither."
            )
        if self.near and self.without_gps == "only":
            raise InvalidFilter(
                "without_gps",
                "'without_gps=only' keeps only photos without a position, so none can be 'near' a point.",
            )

    def to_query(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs (for links that keep them)."""
        pairs = [("class", name) for name in self.classes] + [("tag", name) for name in self.tags]
        for key, value in (
            ("from", self.date_from),
            ("to", self.date_to),
            ("within_km", self.within_km),
            ("place", self.place),
            ("without_gps", self.without_gps),
        ):
            if value is not None:
                pairs.append((key, f"{value:g}" if isinstance(value, float) else str(value)))
        if self.near:
            pairs.append(("near", f"{self.near[0]:g},{self.near[1]:g}"))
        return pairs


def paging(
    values: Mapping, default_per_page: int = 50, most: int = MAX_PER_PAGE
) -> tuple[int, int]:
    """(page, per_page) from the same mapping: page ≥ 1, 1 ≤ per_page ≤ `most`."""
    get = _getter(values)
    page = _whole("page", _one("page", get("page")), 1, 10**9) or 1
    per_page = _whole("per_page", _one("per_page", get("per_page")), 1, most) or default_per_page
    return page, per_page


def find(
    db: Session, filters: Filters, page: int = 1, per_page: int = 50
) -> tuple[list[LibraryPhoto], int]:
    """One page of the matching photos in time order (oldest first), and how many match in all."""
    prepare(db, filters)
    total = db.scalar(where(select(func.count(LibraryPhoto.id)), filters))
    rows = db.scalars(
        where(select(LibraryPhoto), filters)
        .order_by(LibraryPhoto.taken_at, LibraryPhoto.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total or 0


def matching_ids(db: Session, filters: Filters) -> list[int]:
    """Every matching photo's id in time order: what reports and exports go through."""
    return [row.id for row in matching_rows(db, filters)]


def matching_rows(db: Session, filters: Filters, *columns) -> list:
    """The given columns (and id, latitude, longitude) of every matching photo, in time order."""
    prepare(db, filters)
    query = where(
        select(*columns, LibraryPhoto.id, LibraryPhoto.latitude, LibraryPhoto.longitude), filters
    )
    # Core rows, not the ORM's: a library can match by the hundred thousand, and they cost less.
    return db.connection().execute(query.order_by(LibraryPhoto.taken_at, LibraryPhoto.id)).all()


def find_points(
    db: Session, filters: Filters, page: int = 1, per_page: int = MAX_POINTS_PER_PAGE
) -> tuple[list, int]:
    """One page of the matching photos that have a position, for a map: rows of (label, id,
    latitude, longitude) in time order, and how many such photos match in all."""
    prepare(db, filters)
    placed = LibraryPhoto.latitude.is_not(None)
    total = db.scalar(where(select(func.count(LibraryPhoto.id)), filters).where(placed))
    query = where(
        select(LibraryPhoto.label, LibraryPhoto.id, LibraryPhoto.latitude, LibraryPhoto.longitude),
        filters,
    ).where(placed)
    rows = db.connection().execute(
        query.order_by(LibraryPhoto.taken_at, LibraryPhoto.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return rows.all(), total or 0


def prepare(db: Session, filters: Filters) -> None:
    """Before a radius query runs on `db`: SQLite builds without math functions get Python's."""
    connection = db.connection()
    if filters.near is None or connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    try:
        raw.execute("SELECT sin(0.0), cos(0.0)")
    except sqlite3.OperationalError:
        add_trigonometry(raw)


def add_trigonometry(raw) -> None:
    """sin and cos on a sqlite3 connection."""
    raw.create_function("sin", 1, math.sin, deterministic=True)
    raw.create_function("cos", 1, math.cos, deterministic=True)


def where(query: Select, filters: Filters) -> Select:
    photo = LibraryPhoto
    conditions = []
    if filters.classes:
        conditions.append(photo.label.in_(filters.classes))
    for tag in filters.tags:  # every tag given: a photo must carry them all (each an index search)
        conditions.append(photo.id.in_(select(LibraryTag.photo_id).where(LibraryTag.tag == tag)))
    if filters.date_from:
        conditions.append(photo.taken_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        conditions.append(
            photo.taken_at < datetime.combine(filters.date_to + timedelta(days=1), time.min)
        )
    if filters.place:
        wanted = filters.place.lower()
        conditions.append(
            or_(func.lower(photo.city) == wanted, func.lower(photo.country) == wanted)
        )
    without_gps = filters.without_gps or ("exclude" if filters.near else "include")
    if filters.near:
        box = bounding_box(filters.near[0], filters.near[1], filters.within_km)
        longitude = (
            or_(photo.longitude >= box.west, photo.longitude <= box.east)
            if box.wraps
            else photo.longitude.between(box.west, box.east)
        )
        near = and_(
            photo.latitude.between(box.south, box.north),
            longitude,
            _within(filters.near, filters.within_km),
        )
        conditions.append(or_(near, photo.latitude.is_(None)) if without_gps == "include" else near)
    elif without_gps == "exclude":
        conditions.append(photo.latitude.is_not(None))
    elif without_gps == "only":
        conditions.append(photo.latitude.is_(None))
    return query.where(*conditions)


def _within(centre: tuple[float, float], radius_km: float):
    """Haversine in SQL with sin and cos only: hav(the angle to the centre) ≤ hav(the radius's angle)."""
    latitude, longitude = (
        column * (math.pi / 180) for column in (LibraryPhoto.latitude, LibraryPhoto.longitude)
    )
    centre_latitude, centre_longitude = map(math.radians, centre)
    half_north, half_east = (
        func.sin((latitude - centre_latitude) / 2),
        func.sin((longitude - centre_longitude) / 2),
    )
    spread = (
        half_north * half_north
        + math.cos(centre_latitude) * func.cos(latitude) * half_east * half_east
    )
    return spread <= math.sin(min(radius_km / EARTH_RADIUS_KM, math.pi) / 2) ** 2


def _getter(values: Mapping):
    def get(name: str) -> list[str]:
        if hasattr(values, "getlist"):
            found = values.getlist(name)
        else:
            found = values.get(name)
            found = (
                []
                if found is None
                else list(found)
                if isinstance(found, (list, tuple))
                else [found]
            )
        return [
            str(value).strip() for value in found if value is not None and str(value).strip() != ""
        ]

    return get


def _one(name: str, found: list[str]) -> str | None:
    if len(found) > 1:
        raise InvalidFilter(name, f"'{name}' takes one value, not {len(found)}.")
    return found[0] if found else None


def _names(name: str, found: list[str]) -> tuple[str, ...]:
    values = [part.strip() for value in found for part in value.split(",") if part.strip()]
    if len(values) > MAX_VALUES:
        raise InvalidFilter(name, f"At most {MAX_VALUES} values of '{name}', not {len(values)}.")
    for value in values:
        _text(name, value, 64)
    return tuple(dict.fromkeys(values))


def _text(name: str, value: str | None, limit: int = MAX_TEXT) -> str | None:
    if value is not None and (len(value) > limit or not value.isprintable()):
        raise InvalidFilter(name, f"'{name}' must be printable text of at most {limit} characters.")
    return value


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(
            name, f"'{name}' must be a date as YYYY-MM-DD, not {value[:40]!r}."
        ) from None


def _position(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not all(_NUMBER.fullmatch(part) for part in parts):
        raise InvalidFilter(
            "near",
            f"'near' must be LAT,LON in decimal degrees (like 48.8566,2.3522), not {value[:40]!r}.",
        )
    latitude, longitude = float(parts[0]), float(parts[1])
    if abs(latitude) > 90 or abs(longitude) > 180:
        raise InvalidFilter(
            "near",
            f"'near' is off the globe: latitude must be within ±90 and longitude within ±180, not {value[:40]}.",
        )
    return latitude, longitude


def _distance(value: str | None) -> float | None:
    if value is None:
        return None
    if not _NUMBER.fullmatch(value) or not 0 < float(value) <= 20_100:
        raise InvalidFilter(
            "within_km",
            f"'within_km' must be a distance in km above 0 (and at most 20100, half the globe), not {value[:40]!r}.",
        )
    return float(value)


def _choice(name: str, value: str | None) -> str | None:
    if value is not None and value not in WITHOUT_GPS:
        raise InvalidFilter(
            name, f"'{name}' must be one of {', '.join(WITHOUT_GPS)}, not {value[:40]!r}."
        )
    return value


def _whole(name: str, value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise InvalidFilter(
            name, f"'{name}' must be a whole number from {low} to {high}, not {value[:40]!r}."
        )
    return int(value)
