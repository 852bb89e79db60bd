"""The tables: projects, their classes and photos, model versions, jobs and the project log.

The common pool ("none of these" photos shared by every project as outlier exposure) is the one
project whose kind is "common"; its photos have no class.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAME_LENGTH = 64
SIDES = ("train", "test")
SOURCES = ("upload", "save_data", "scrape", "feedback")
CORRECTION_STATES = ("pending", "accepted", "rejected")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED_STATES = ("done", "failed", "cancelled")


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="classifier")  # or "common"
    created_at: Mapped[datetime] = mapped_column(default=now)
    active_version: Mapped[int | None] = mapped_column(Integer)  # a ModelVersion.number

    classes: Mapped[list["ProjectClass"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectClass.name"
    )
    versions: Mapped[list["ModelVersion"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ModelVersion.number"
    )


class ProjectClass(Base):
    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))

    project: Mapped[Project] = relationship(back_populates="classes")


class Photo(Base):
    __tablename__ = "photos"
    # The same content is stored once per project, so two concurrent uploads can't both land.
    __table_args__ = (UniqueConstraint("project_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    phash: Mapped[str] = mapped_column(String(16))
    original_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(5))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)

    photo_class: Mapped[ProjectClass | None] = relationship()


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(512))  # the .h5, relative to PETCLF_HOME
    card: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now)

    project: Mapped[Project] = relationship(back_populates="versions")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    phase: Mapped[str] = mapped_column(String(64), default="")
    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(128))  # host:pid of the worker running it
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class ServedPrediction(Base):
    """A prediction served by the page, the API or the bot, kept for a bounded time so a person
    can correct it (projects/predictions.py). The photo waits in a spool beside it."""

    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # short, URL-safe
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # A project's version, or (project None) the shipped model: its path and the .h5's sha256.
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int | None] = mapped_column(Integer)
    model_path: Mapped[str] = mapped_column(String(512))
    model_sha256: Mapped[str] = mapped_column(String(64))
    labels: Mapped[list] = mapped_column(JSON)  # the model's classes, in order
    top: Mapped[list] = mapped_column(JSON)  # [[label, proba], …] most likely first
    label: Mapped[str] = mapped_column(String(NAME_LENGTH))  # the answer, or "unknown"
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the photo's bytes
    channel: Mapped[str] = mapped_column(String(8))  # page, api, bot


class Correction(Base):
    """A person's label for a served prediction ("Wrong? It's a …"), pending an admin's review.

    It outlives its prediction: what review needs (the answer, the photo) is copied here, and the
    photo is kept in the photo store until the correction is rejected or its photo joins the project.
    """

    __tablename__ = "corrections"
    __table_args__ = (Index("ix_corrections_client_created", "client", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[str] = mapped_column(String(16), unique=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int | None] = mapped_column(Integer)  # the version that answered
    sha256: Mapped[str] = mapped_column(String(64))
    top: Mapped[list] = mapped_column(JSON)
    predicted: Mapped[str] = mapped_column(String(NAME_LENGTH))
    label: Mapped[str] = mapped_column(String(NAME_LENGTH))  # a class, or "none"
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    client: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(8))
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    reviewed_at: Mapped[datetime | None]


class LogEntry(Base):
    """The project's status and error log: one structured line per event."""

    __tablename__ = "project_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=now)
    level: Mapped[str] = mapped_column(String(8))  # info, warning, error
    event: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(32))


# The photo library (library/): one row per distinct photo, whatever folder or upload it came from.


class LibraryPhoto(Base):
    """A photo in the library: where and when it was taken, what it shows, its near-duplicate group."""

    __tablename__ = "library_photos"
    __table_args__ = (
        Index("ix_library_photos_taken", "taken_at", "id"),
        Index("ix_library_photos_label_taken", "label", "taken_at"),
        # covers a radius query's prefilter
        Index("ix_library_photos_position", "latitude", "longitude", "taken_at"),
        {"sqlite_autoincrement": True},  # ids never reused: the near-duplicate index keeps them
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # of the original bytes, kept in the photo store
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    phash: Mapped[str] = mapped_column(String(16))
    original_name: Mapped[str] = mapped_column(String(255))
    # the file it was added from; None for uploads
    source_path: Mapped[str | None] = mapped_column(Text)
    # that file's size and modification time when it was read: a rerun skips it while both hold
    source_size: Mapped[int | None] = mapped_column(BigInteger)
    source_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)  # upright
    height: Mapped[int] = mapped_column(Integer)
    # EXIF times are the camera's wall clock, with no zone: kept as they are, without one.
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    date_source: Mapped[str] = mapped_column(String(16))  # DateTimeOriginal, DateTime, file, upload
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    camera_make: Mapped[str | None] = mapped_column(String(64))
    camera_model: Mapped[str | None] = mapped_column(String(64))
    # indexed by lower(): places match in any case
    city: Mapped[str | None] = mapped_column(String(128))
    country: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(NAME_LENGTH))  # the pet model's label, or "unknown"
    confidence: Mapped[float] = mapped_column(Float)  # the top probability
    predictions: Mapped[dict] = mapped_column(JSON)  # the prediction JSON of the pet model
    # the same from the ImageNet model, when it exists
    objects: Mapped[dict | None] = mapped_column(JSON)
    # near duplicates: the group's first photo
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # kept in the public gallery
    shared: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # the readable fields, for the photo page
    exif: Mapped[dict] = mapped_column(JSON, default=dict)
    # what was ignored while reading it, and why
    notes: Mapped[list] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(default=now)

    tags: Mapped[list["LibraryTag"]] = relationship(
        cascade="all, delete-orphan", order_by="LibraryTag.proba.desc()"
    )


Index("ix_library_photos_city_lower", func.lower(LibraryPhoto.city))
Index("ix_library_photos_country_lower", func.lower(LibraryPhoto.country))


class LibraryTag(Base):
    """A tag a tags model gave a library photo; a table (not JSON) so the tag filter uses an index."""

    __tablename__ = "library_tags"
    __table_args__ = (Index("ix_library_tags_tag", "tag", "photo_id"),)

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("library_photos.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    proba: Mapped[float] = mapped_column(Float)
