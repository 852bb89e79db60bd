"""One photo's work before it enters the store, done in a worker thread: read, hash, decode
through the one image path, read its EXIF, write its thumbnail and original, classify it.

Pillow and the TFLite interpreters release the GIL for the heavy parts, so threads use every core.
"""

import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PIL import Image

from library import exif
from library.engines import Models
from library.files import Item, Unreadable, read, thumbnail_path
from preprocessing import ImageError, decode, fit_and_pad
from preprocessing.dataset import perceptual_hash, sha256_hex, write_atomically
from store import put_photo

THUMBNAIL_SIZE = 320
THUMBNAIL_QUALITY = 85
PHASH_SIZE = 240  # the padded picture's size, as the preprocess stage hashes it (its threshold was measured so)


@dataclass(frozen=True)
class Rejected:
    """A file that is not in the library after this run: "damaged" (not a usable image), "skipped" (not
    a readable file) or "duplicate" (its content is there already)."""

    status: str
    reason: str
    sha256: str = ""

    @classmethod
    def duplicate(cls, photo_id: int | None, sha256: str) -> "Rejected":
        return cls("duplicate", f"Already in the library as photo {photo_id}.", sha256)


@dataclass
class Prepared:
    """Everything about a new photo except its place, near-duplicate group and row id."""

    sha256: str
    phash: str
    format: str
    width: int
    height: int
    taken_at: datetime
    date_source: str
    facts: exif.ExifFacts
    predictions: dict
    objects: dict | None
    notes: list[str] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)  # [{"tag", "proba"}] from the tags model
    source: os.stat_result | None = None  # the file's status before it was read; None for uploads


def prepare(item: Item, known, models, received: datetime) -> Prepared | Rejected:
    """`known`: the library's KnownContent; `models`: a callable giving Models (loaded on first
    need, so a rerun of known files loads none); `received`: the upload's time."""
    if (unchanged := known.unchanged(item)) is not None:  # not even read
        return Rejected.duplicate(unchanged.photo_id, unchanged.sha256)
    try:
        data, source = (item.data, None) if item.data is not None else read(item.path)
    except Unreadable as exc:
        return Rejected("skipped", str(exc))
    if item.is_upload:
        source = None  # a staged upload's file: neither its time nor its path is the photo's
    sha256 = sha256_hex(data)
    if (photo_id := known(sha256)) is not None:
        return Rejected.duplicate(photo_id, sha256)
    try:
        decoded = decode(data, draft_size=THUMBNAIL_SIZE)
    except ImageError as exc:
        return Rejected("damaged", str(exc), sha256)
    facts = exif.parse(decoded.exif, latest=datetime.now() + timedelta(days=1))
    taken_at, date_source = facts.taken_at, facts.date_source
    if taken_at is None:
        taken_at, date_source = (
            (datetime.fromtimestamp(source.st_mtime), "file") if source else (received, "upload")
        )

    _write_thumbnail(sha256, decoded.image)
    padded = fit_and_pad(decoded.image, PHASH_SIZE)
    engines: Models = models()
    predictions = engines.pets.predict_image(padded).to_dict()
    objects = engines.objects.predict_image(padded).to_dict() if engines.objects else None
    tags = engines.tags.tag_image(padded) if engines.tags else []
    put_photo(sha256, data)
    width, height = decoded.original_size
    return Prepared(
        sha256=sha256,
        phash=perceptual_hash(padded),
        format=decoded.format,
        width=width,
        height=height,
        taken_at=taken_at,
        date_source=date_source,
        facts=facts,
        predictions=predictions,
        objects=objects,
        notes=list(facts.notes),
        tags=tags,
        source=source,
    )


def _write_thumbnail(sha256: str, image: Image.Image) -> None:
    path = thumbnail_path(sha256)
    if path.is_file():
        return
    thumbnail = image.copy()
    thumbnail.thumbnail(
        (THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS, reducing_gap=2.0
    )
    buffer = io.BytesIO()
    thumbnail.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY)  # no EXIF: no GPS in it
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, buffer.getvalue())
