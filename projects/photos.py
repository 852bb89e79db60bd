"""Photos arriving in a project: through the one image path, stored once, reported one by one.

Every file is decoded (non-images, bombs and truncated files are refused with the reason, and
nothing of them is stored). An exact duplicate (same sha256 in the project) is stored once and
reported as such; a near duplicate (perceptual hash) is stored and reported with the photos it
resembles.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preprocessing import DEFAULT_MAX_PIXELS, ImageError, decode, fit_and_pad
from preprocessing.dataset import (
    DEFAULT_HASH_THRESHOLD,
    distances,
    hashes_to_array,
    perceptual_hash,
    sha256_hex,
)
from preprocessing.split import SIDES, stable_side
from projects.errors import Invalid, NotFound
from projects.names import class_name
from store import Photo, Project, ProjectClass, put_photo
from store.models import SOURCES

MAX_NAME = 255


@dataclass
class Incoming:
    name: str
    data: bytes


@dataclass
class Outcome:
    name: str
    status: str  # "stored", "duplicate" or "rejected"
    reason: str = ""
    sha256: str = ""
    photo_id: int | None = None
    side: str = ""
    # names of look-alike photos already stored
    near_duplicates: list[str] = field(default_factory=list)
    # why the image path refused it, for callers that answer by kind
    error: ImageError | None = None

    def to_dict(self) -> dict:
        shown = {key: value for key, value in asdict(self).items() if key != "error"}
        return {key: value for key, value in shown.items() if value not in ("", None, [])}


def check_side(side) -> str | None:
    """The client's train/test choice; None means the stable sha256 rule decides."""
    if side in (None, ""):
        return None
    if side not in SIDES:
        raise Invalid(f"The side must be 'train' or 'test', not {side!r}.")
    return side


def add_photos(
    db: Session,
    project: Project,
    label: str | None,
    items: list[Incoming],
    *,
    side: str | None = None,
    source: str = "upload",
) -> list[Outcome]:
    """Store each item in `project` under class `label` (None for the common pool)."""
    if source not in SOURCES:
        raise ValueError(f"unknown photo source {source!r}")
    side = check_side(side)
    photo_class = class_for(db, project, label)
    known = db.execute(
        select(Photo.sha256, Photo.phash, Photo.original_name).where(Photo.project_id == project.id)
    ).all()
    names = [row.original_name for row in known]
    hashes = hashes_to_array([row.phash for row in known])
    by_sha = {row.sha256: row.original_name for row in known}
    outcomes = []
    for item in items:
        outcome, phash = _add_one(db, project, photo_class, item, side, source, by_sha)
        if phash:
            close = distances(np.uint64(int(phash, 16)), hashes) <= DEFAULT_HASH_THRESHOLD
            outcome.near_duplicates = [names[i] for i in np.flatnonzero(close)]
            names.append(outcome.name)
            hashes = np.append(hashes, np.uint64(int(phash, 16)))
        outcomes.append(outcome)
    return outcomes


def summary(outcomes: list[Outcome]) -> dict:
    return dict(Counter(outcome.status for outcome in outcomes))


def _add_one(
    db: Session, project: Project, photo_class, item: Incoming, side, source, by_sha: dict
) -> tuple[Outcome, str]:
    """The outcome, and the perceptual hash of a newly stored photo ("" otherwise)."""
    name = (item.name or "photo")[:MAX_NAME]
    try:
        decoded = decode(item.data, max_pixels=DEFAULT_MAX_PIXELS)
    except ImageError as exc:
        return Outcome(name, "rejected", reason=str(exc), error=exc), ""
    sha = sha256_hex(item.data)
    if sha in by_sha:
        return Outcome(
            name,
            "duplicate",
            reason=f"The same photo is stored already as {by_sha[sha]}.",
            sha256=sha,
        ), ""
    put_photo(sha, item.data)
    width, height = decoded.original_size
    phash = perceptual_hash(fit_and_pad(decoded.image))
    photo = Photo(
        project_id=project.id,
        class_id=photo_class.id if photo_class else None,
        sha256=sha,
        phash=phash,
        original_name=name,
        format=decoded.format,
        width=width,
        height=height,
        side=side or stable_side(sha),
        source=source,
    )
    try:
        with db.begin_nested():  # a concurrent upload of the same photo wins the unique constraint
            db.add(photo)
    except IntegrityError:
        return Outcome(
            name,
            "duplicate",
            reason="The same photo was stored at the same moment by another upload.",
            sha256=sha,
        ), ""
    by_sha[sha] = name
    return Outcome(name, "stored", sha256=sha, photo_id=photo.id, side=photo.side), phash


def class_for(db: Session, project: Project, label: str | None) -> ProjectClass | None:
    if project.kind == "common":
        return None
    if label is None:
        raise Invalid("Say which class the photos belong to.")
    label = class_name(label)
    found = db.scalar(
        select(ProjectClass).where(
            ProjectClass.project_id == project.id, ProjectClass.name == label
        )
    )
    if found is None:
        found = ProjectClass(project_id=project.id, name=label)
        try:
            with db.begin_nested():
                db.add(found)
        except IntegrityError:  # created by a concurrent upload
            found = db.scalar(
                select(ProjectClass).where(
                    ProjectClass.project_id == project.id, ProjectClass.name == label
                )
            )
    return found


def photo_of(db: Session, project: Project, photo_id: int) -> Photo:
    photo = db.get(Photo, photo_id)
    if photo is None or photo.project_id != project.id:
        raise NotFound(f"The project {project.name} has no photo {photo_id}.")
    return photo
