"""`petclf library export --rename-by-date DEST`: the travel library's output, an upright copy of
each photo named `YYYY-MM-DD_HHMMSS_<class>.<ext>` (so names sort in time order, and each file's
time is the photo's), plus `metadata.csv`.

A photo already upright is copied byte for byte; a turned one is re-encoded upright with its EXIF
kept (orientation reset). DEST is written beside itself and swapped in only when complete.
"""

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from library.exif import ORIENTATION
from library.queries import Filters, matching_ids
from preprocessing import decode
from preprocessing.dataset import check_destination, staged_output, write_csv
from store import LibraryPhoto, home, photo_path

METADATA = "metadata.csv"
FIELDS = (
    "file",
    "original_name",
    "sha256",
    "taken_at",
    "date_source",
    "latitude",
    "longitude",
    "altitude",
    "city",
    "country",
    "camera_make",
    "camera_model",
    "class",
    "confidence",
    "tags",
    "object",
    "group_id",
)
EXTENSIONS = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
}
CHUNK = 200
JPEG_QUALITY = 95


def export(
    db: Session,
    filters: Filters,
    dest: Path,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Export the photos matching `filters` into `dest`; returns how many. Raises DatasetError when
    `dest` holds other files (or a previous export and not `force`), or overlaps the photo store."""
    check_destination(home() / "photos", dest, force, marker=METADATA)
    ids = matching_ids(db, filters)
    rows = []
    taken_names: set[str] = set()
    with staged_output(dest) as staging:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found = {
                row.id: row
                for row in db.scalars(
                    select(LibraryPhoto)
                    .where(LibraryPhoto.id.in_(chunk))
                    .options(selectinload(LibraryPhoto.tags))
                )
            }
            for photo_id in chunk:
                photo = found[photo_id]
                name = file_name(photo, taken_names)
                _write_upright(photo, staging / name)
                rows.append(_metadata(photo, name))
            if progress:
                progress(start + len(chunk), len(ids))
        write_csv(staging / METADATA, FIELDS, rows)
    return len(ids)


def file_name(photo: LibraryPhoto, taken: set[str]) -> str:
    """`YYYY-MM-DD_HHMMSS_<class>.<ext>`, with `_2`, `_3`… when photos of a class share a second."""
    label = re.sub(r"[^\w-]+", "_", photo.label, flags=re.ASCII).strip("_") or "photo"
    stem = f"{photo.taken_at:%Y-%m-%d_%H%M%S}_{label}"
    extension = EXTENSIONS.get(photo.format, "img")
    name, number = f"{stem}.{extension}", 1
    while name in taken:
        number += 1
        name = f"{stem}_{number}.{extension}"
    taken.add(name)
    return name


def _write_upright(photo: LibraryPhoto, path: Path) -> None:
    original = photo_path(photo.sha256).read_bytes()
    if photo.exif.get("Orientation", 1) == 1:
        path.write_bytes(original)
    else:
        path.write_bytes(_turned_upright(original, photo.format))
    stamp = photo.taken_at.timestamp()
    os.utime(path, (stamp, stamp))


def _turned_upright(original: bytes, fmt: str) -> bytes:
    decoded = decode(original)
    save_as = "JPEG" if fmt == "MPO" else fmt
    params = {"quality": JPEG_QUALITY} if save_as == "JPEG" else {}
    try:
        decoded.exif[ORIENTATION] = 1
        params["exif"] = decoded.exif.tobytes()
    except Exception:  # an EXIF block Pillow can't write back: the copy goes without it
        pass
    buffer = io.BytesIO()
    decoded.image.save(buffer, save_as, **params)
    return buffer.getvalue()


def _metadata(photo: LibraryPhoto, name: str) -> tuple:
    objects = (photo.objects or {}).get("label")
    return (
        name,
        photo.original_name,
        photo.sha256,
        photo.taken_at.isoformat(),
        photo.date_source,
        _number(photo.latitude),
        _number(photo.longitude),
        _number(photo.altitude),
        photo.city or "",
        photo.country or "",
        photo.camera_make or "",
        photo.camera_model or "",
        photo.label,
        f"{photo.confidence:.4f}",
        ";".join(tag.tag for tag in photo.tags),
        objects or "",
        photo.group_id or "",
    )


def _number(value: float | None) -> str:
    return "" if value is None else str(value)
