"""Images/raw/manifest.csv: one row per kept image, appended only after its file is in place."""

import csv
import io
import os
from pathlib import Path

from scraping.errors import ScrapeError

COLUMNS = (
    "class",  # folder name under the output root
    "file",  # path relative to the output root: <class>/<sha256 prefix>.<ext>
    "sha256",
    "phash",  # perceptual hash (imagehash.phash), hex
    "width",
    "height",
    "bytes",
    "source",  # flickr | imgur
    "query",
    "search_page_url",
    "image_url",  # the URL the bytes came from
    "photo_page_url",
    "owner",
    "license",  # only when the source says
    "downloaded_at",  # UTC, ISO 8601
    "tags",  # the photo's tags on the site (Flickr), ";"-separated; `petclf tags from-manifest`
)
TAG_SEPARATOR = ";"
FILENAME = "manifest.csv"

# URLs not worth fetching again: junk and duplicates (failed downloads are retried instead).
REJECTED_FILENAME = "rejected.csv"
REJECTED_COLUMNS = ("class", "image_url", "reason", "detail", "at")


def load(path: Path) -> list[dict]:
    """All complete rows. A row torn by a kill mid-write is cut off the file first."""
    if not path.exists():
        return []
    _drop_torn_tail(path)
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if None not in row.values()]


def append(path: Path, row: dict, columns: tuple[str, ...] = COLUMNS) -> None:
    """One row, flushed to disk before returning (the file it names is already in place)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="raise")
    new_file = not path.exists() or path.stat().st_size == 0
    if new_file:
        writer.writeheader()
    else:
        _upgrade_header(path, columns)
    writer.writerow(row)
    with path.open("a", newline="", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())


def _upgrade_header(path: Path, columns: tuple[str, ...]) -> None:
    """A manifest written before a column was added gets it (empty) on its earlier rows, so new
    rows line up with the header. Rewritten whole, then renamed into place."""
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if tuple(header) == columns:
        return
    if not set(header) <= set(columns):
        raise ScrapeError(f"{path} has columns this petclf doesn't write; use another --out")
    rows = load(path)
    temporary = path.with_name(f".{path.name}.upgrade")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _drop_torn_tail(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
