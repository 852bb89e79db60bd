"""Library rows inserted directly (no images, no model): for query tests and the query benchmark."""

from datetime import datetime

from sqlalchemy import insert

from store import LibraryPhoto, LibraryTag


def row(
    number: int,
    *,
    label: str = "cat",
    taken_at: datetime = datetime(2014, 6, 1, 12),
    latitude: float | None = None,
    longitude: float | None = None,
    city: str | None = None,
    country: str | None = None,
    **more,
) -> dict:
    """The column values of one synthetic library photo; `number` makes its sha256 unique."""
    return {
        "sha256": f"{number:064x}",
        "phash": f"{number * 2654435761 % 2**64:016x}",
        "original_name": f"p{number}.jpg",
        "source_path": None,
        "format": "JPEG",
        "width": 4000,
        "height": 3000,
        "taken_at": taken_at,
        "date_source": "DateTimeOriginal",
        "latitude": latitude,
        "longitude": longitude,
        "altitude": None,
        "camera_make": None,
        "camera_model": None,
        "city": city,
        "country": country,
        "label": label,
        "confidence": 0.9,
        "predictions": {
            "predictions": [{"label": label, "proba": 0.9}],
            "label": label,
            "unknown": False,
        },
        "objects": None,
        "group_id": None,
        "shared": False,
        "exif": {},
        "notes": [],
        "added_at": datetime(2020, 1, 1),
        **more,
    }


def insert_rows(db, rows: list[dict], tags: dict[int, list[str]] | None = None) -> list[int]:
    """Insert the rows in one statement per chunk; `tags` maps a row's index to its tags. Returns the ids."""
    ids = []
    for start in range(0, len(rows), 5000):
        ids += db.scalars(
            insert(LibraryPhoto).returning(LibraryPhoto.id), rows[start : start + 5000]
        ).all()
    if tags:
        db.execute(
            insert(LibraryTag),
            [
                {"photo_id": ids[index], "tag": tag, "proba": 0.8}
                for index, names in tags.items()
                for tag in names
            ],
        )
    return ids
