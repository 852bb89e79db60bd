"""One library photo: its JSON, its pictures (thumbnail, an upright view without metadata), sharing
and deleting it."""

import io

from PIL import Image
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from library.errors import NotFound
from library.files import thumbnail_path
from preprocessing import decode
from store import LibraryPhoto, Photo, photo_path

VIEW_SIZE = 2048  # the large view's longest side
VIEW_QUALITY = 90


def summary(photo: LibraryPhoto) -> dict:
    """What a grid, a list or the CLI's --json shows of a photo."""
    return {
        "id": photo.id,
        "name": photo.original_name,
        "taken_at": photo.taken_at.isoformat(),
        "date_source": photo.date_source,
        "latitude": photo.latitude,
        "longitude": photo.longitude,
        "place": place(photo),
        "label": photo.label,
        "confidence": round(photo.confidence, 4),
        "tags": [tag.tag for tag in photo.tags],
        "group_id": photo.group_id,
        "shared": photo.shared,
    }


def details(db: Session, photo_id: int) -> dict:
    """Everything about one photo, for its page: the summary plus camera, EXIF, predictions, group."""
    photo = get(db, photo_id)
    group = []
    if photo.group_id is not None:
        group = db.scalars(
            select(LibraryPhoto.id)
            .where(LibraryPhoto.group_id == photo.group_id, LibraryPhoto.id != photo.id)
            .order_by(LibraryPhoto.id)
        ).all()
    return {
        **summary(photo),
        "sha256": photo.sha256,
        "format": photo.format,
        "width": photo.width,
        "height": photo.height,
        "altitude": photo.altitude,
        "city": photo.city,
        "country": photo.country,
        "camera": " ".join(filter(None, (photo.camera_make, photo.camera_model))) or None,
        "exif": photo.exif,
        "predictions": photo.predictions,
        "objects": photo.objects,
        "tags": [{"tag": tag.tag, "proba": round(tag.proba, 4)} for tag in photo.tags],
        "group": list(group),  # the other photos of its near-duplicate group
        "notes": photo.notes,
        "source_path": photo.source_path,
        "added_at": photo.added_at.isoformat(),
    }


def place(photo: LibraryPhoto) -> str | None:
    return ", ".join(filter(None, (photo.city, photo.country))) or None


def get(db: Session, photo_id: int, *, shared_only: bool = False) -> LibraryPhoto:
    photo = db.get(LibraryPhoto, photo_id)
    if photo is None or (shared_only and not photo.shared):
        raise NotFound(f"No {'shared ' if shared_only else ''}photo {photo_id} in the library.")
    return photo


def thumbnail_bytes(db: Session, photo_id: int, *, shared_only: bool = False) -> bytes:
    """The ≤ 320 px JPEG thumbnail (it carries no EXIF). Raises NotFound."""
    photo = get(db, photo_id, shared_only=shared_only)
    try:
        return thumbnail_path(photo.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"The thumbnail of photo {photo_id} is missing from the store.") from None


def view_bytes(db: Session, photo_id: int, *, shared_only: bool = False) -> bytes:
    """The photo upright as a JPEG of at most 2048 px, with no metadata at all: no GPS, whatever
    the original's EXIF or XMP held. The gallery serves only this (`shared_only=True`)."""
    photo = get(db, photo_id, shared_only=shared_only)
    try:
        image = decode(photo_path(photo.sha256), draft_size=VIEW_SIZE).image
    except FileNotFoundError:
        raise NotFound(f"The original of photo {photo_id} is missing from the store.") from None
    image.thumbnail((VIEW_SIZE, VIEW_SIZE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=VIEW_QUALITY)
    return buffer.getvalue()


def shared_image(db: Session, photo_id: int) -> bytes:
    """A shared photo's picture for the gallery: upright, GPS (and all other metadata) stripped."""
    return view_bytes(db, photo_id, shared_only=True)


def set_shared(db: Session, photo_id: int, shared: bool) -> None:
    get(db, photo_id).shared = shared


def delete(db: Session, photo_id: int) -> None:
    """Remove a photo from the library (the admin's call), and its files unless a project keeps the original."""
    photo = get(db, photo_id)
    sha256 = photo.sha256
    db.delete(photo)
    db.flush()
    files = [thumbnail_path(sha256)]
    if not db.scalar(select(exists().where(Photo.sha256 == sha256))):
        files.append(photo_path(sha256))

    @event.listens_for(db, "after_commit", once=True)
    def _remove_files(_session):  # only once the row is surely gone: a rollback keeps them
        for path in files:
            path.unlink(missing_ok=True)
