"""The shared gallery: /gallery shows anyone the photos people chose to keep, by predicted class and
tag, newest first; only the admin deletes. The pictures it serves are re-encoded without any
metadata (library.shared_image, library.thumbnail_bytes): no GPS ever leaves through it.

A photo kept from the upload page is stored through the library's ingest, as a copy that carries
its date and camera and nothing else: the uploader's position is not even stored.
"""

import io
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from PIL import Image
from sqlalchemy import func, select

import library
import store
from library import LibraryError, Outcome
from library.exif import DATETIME, DATETIME_ORIGINAL, EXIF_IFD, MAKE, MODEL, parse
from library.photos import get
from library.queries import where
from preprocessing import decode
from store import LibraryPhoto
from webapp.auth import page_admin
from webapp.errors import UploadError
from webapp.library_pages import error_page, page_state
from webapp.library_requests import filters_and_page, ingest_options

blueprint = Blueprint("gallery", __name__)
PER_PAGE = 48
GALLERY_FILTERS = ("class", "tag", "page")
KEPT_QUALITY = 92


blueprint.context_processor(page_state)
blueprint.register_error_handler(LibraryError, error_page)
blueprint.register_error_handler(UploadError, error_page)


@blueprint.get("/gallery")
def gallery_page():
    chosen = {"classes": request.args.getlist("class"), "tag": request.args.get("tag", "")}
    with store.session() as db:
        known = {"classes": _shared_labels(db)}
        # Only class and tag: place and distance filters would let anyone find photos by where they were taken.
        filters, page, per_page = filters_and_page(
            {name: request.args.getlist(name) for name in GALLERY_FILTERS}, PER_PAGE
        )
        shared = where(select(LibraryPhoto), filters).where(LibraryPhoto.shared)
        total = db.scalar(select(func.count()).select_from(shared.subquery())) or 0
        rows = db.scalars(
            shared.order_by(LibraryPhoto.added_at.desc(), LibraryPhoto.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        photos = [{"id": row.id, "label": row.label, "confidence": row.confidence} for row in rows]
    query: dict[str, Any] = {
        key: value for key, value in (("class", filters.classes), ("tag", filters.tags)) if value
    }
    return render_template(
        "gallery.html",
        chosen=chosen,
        photos=photos,
        total=total,
        page=page,
        pages=-(-total // per_page),
        filtered=bool(query),
        page_address=lambda number: url_for(".gallery_page", **query, page=number),
        **known,
    )


@blueprint.get("/gallery/<int:photo_id>.jpg")
def image(photo_id: int):
    with store.session() as db:
        data = library.shared_image(db, photo_id)
    return send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=3600)


@blueprint.get("/gallery/<int:photo_id>/thumbnail.jpg")
def thumbnail(photo_id: int):
    with store.session() as db:
        data = library.thumbnail_bytes(db, photo_id, shared_only=True)
    return send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=3600)


@blueprint.post("/gallery/<int:photo_id>/delete")
@page_admin
def delete(photo_id: int):
    with store.session() as db:
        get(db, photo_id, shared_only=True)  # the gallery deletes only what it shows
        library.delete(db, photo_id)
    flash(f"Photo {photo_id} deleted.")
    return redirect(url_for(".gallery_page"))


def keep(name: str, data: bytes) -> Outcome:
    """Keep an upload of the home page in the gallery (the person ticked the box): its shareable
    copy goes through the library's ingest, which classifies and stores it."""
    return library.ingest_upload(
        name, shareable_copy(data), shared=True, options=ingest_options(True)
    )


def shareable_copy(data: bytes) -> bytes:
    """The photo upright as a JPEG whose EXIF holds only its date and camera: no GPS, no XMP, no
    maker notes, nothing else a camera or phone wrote. Raises preprocessing.ImageError."""
    decoded = decode(data)
    facts = parse(decoded.exif, latest=datetime.now() + timedelta(days=1))
    kept = Image.Exif()
    if facts.taken_at:
        stamp = facts.taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if facts.date_source == "DateTimeOriginal":
            kept.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = stamp
        else:
            kept[DATETIME] = stamp
    for tag, value in ((MAKE, facts.camera_make), (MODEL, facts.camera_model)):
        if value:
            kept[tag] = value
    buffer = io.BytesIO()
    decoded.image.save(buffer, "JPEG", quality=KEPT_QUALITY, exif=kept)
    return buffer.getvalue()


def _shared_labels(db) -> list[str]:
    return list(
        db.scalars(
            select(LibraryPhoto.label)
            .where(LibraryPhoto.shared)
            .distinct()
            .order_by(LibraryPhoto.label)
        )
    )
