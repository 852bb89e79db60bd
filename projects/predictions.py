"""Served predictions, kept for a bounded time so people can correct them and ask why.

Every prediction the page, the API or the bot shows gets a short URL-safe id (12 characters: it fits
in Telegram's 64-byte callback data beside a class). Its row holds the model that answered (a
project's version, or the shipped model's path and .h5 sha256), the top 5 and the photo's sha256;
the photo's bytes wait in a spool under PETCLF_HOME. Both go after PETCLF_PREDICTION_DAYS (default
7) unless a correction keeps the photo (projects/corrections.py copies it to the photo store).

    served = lookup(prediction_id)   # None when unknown or expired
    served.model_file, served.model_gone, served.photo
"""

import os
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from classifier import Engine, Prediction
from preprocessing.dataset import sha256_hex
from store import ModelVersion, Project, ServedPrediction, engine, home, session
from store.models import now

DEFAULT_DAYS = 7.0
ID_BYTES = 9  # 12 URL-safe characters, 72 random bits
SPOOL_FOLDER = "prediction-photos"
CHANNELS = ("page", "api", "bot")
PURGE_EVERY_SECONDS = 60.0  # each process sweeps expired predictions at most this often

_last_purge = 0.0
_purge_lock = threading.Lock()


@dataclass(frozen=True)
class ServedModel:
    """The model that answered: a project's version, or the shipped model (project_id None)."""

    path: str  # the .h5: relative to PETCLF_HOME for a version, absolute for the shipped model
    sha256: str  # of the .h5
    labels: tuple[str, ...]
    project_id: int | None = None
    version: int | None = None

    @classmethod
    def shipped(cls, engine: Engine) -> "ServedModel":
        artifact = engine.artifact
        return cls(str(artifact.path.absolute()), artifact.sha256, tuple(artifact.labels))

    @classmethod
    def of_version(cls, version: ModelVersion) -> "ServedModel":
        card = version.card
        return cls(
            version.path,
            card["h5_sha256"],
            tuple(card["labels"]),
            version.project_id,
            version.number,
        )


@dataclass(frozen=True)
class Served:
    """A kept prediction, as the corrections and the heat map need it (no open session)."""

    id: str
    created_at: datetime
    expires_at: datetime
    project: str | None  # the project's name; None for the shipped model
    version: int | None
    model_file: Path  # the .h5 that answered
    model_gone: str | None  # why that model can't be used any more; None while it can
    labels: tuple[str, ...]  # the model's classes
    top: tuple[tuple[str, float], ...]
    label: str  # the answer, or "unknown"
    photo_sha256: str
    photo: Path | None  # the photo's bytes in the spool; None once they are gone
    channel: str


def prediction_days() -> float:
    value = os.environ.get("PETCLF_PREDICTION_DAYS") or str(DEFAULT_DAYS)
    try:
        days = float(value)
    except ValueError:
        days = 0.0
    if not 0 < days <= 3650:
        raise ValueError(f"PETCLF_PREDICTION_DAYS must be a number of days above 0, not {value!r}")
    return days


def spool_path(sha256: str) -> Path:
    return home() / SPOOL_FOLDER / sha256[:2] / sha256


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def record(
    db: Session | Connection, prediction: Prediction, photo: bytes, model: ServedModel, channel: str
) -> Prediction:
    """Keep `prediction` (of the photo `photo`) in the caller's transaction; it comes back with its id.

    The photo is spooled before the row exists, so a row found always has its photo. One plain
    INSERT, no ORM bookkeeping: it runs on every prediction served."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    sha = sha256_hex(photo)
    spooled = spool_path(sha)
    if not spooled.is_file():
        _spool(spooled, photo)
    moment, kept_id = now(), new_id()
    db.execute(
        insert(ServedPrediction).values(
            id=kept_id,
            created_at=moment,
            expires_at=moment + timedelta(days=prediction_days()),
            project_id=model.project_id,
            version=model.version,
            model_path=model.path,
            model_sha256=model.sha256,
            labels=list(model.labels),
            top=[[label, round(proba, 6)] for label, proba in prediction.top],
            label=prediction.label,
            sha256=sha,
            channel=channel,
        )
    )
    _purge_now_and_then(db)
    return replace(prediction, id=kept_id)


def record_one(
    prediction: Prediction, photo: bytes, model: ServedModel, channel: str
) -> Prediction:
    """record() in a transaction of its own, on a bare connection (no session to set up)."""
    with engine().begin() as connection:
        return record(connection, prediction, photo, model, channel)


def find(db: Session, prediction_id: str) -> ServedPrediction | None:
    """The kept row, or None when the id is unknown or the prediction has expired."""
    if not isinstance(prediction_id, str) or not 0 < len(prediction_id) <= 16:
        return None
    kept = db.get(ServedPrediction, prediction_id)
    if kept is None or _aware(kept.expires_at) <= now():
        return None
    return kept


def lookup(prediction_id: str) -> Served | None:
    """The prediction `prediction_id` with its model file and photo, or None (unknown or expired)."""
    with session() as db:
        kept = find(db, prediction_id)
        return None if kept is None else describe(db, kept)


def describe(db: Session, kept: ServedPrediction) -> Served:
    project = db.get(Project, kept.project_id) if kept.project_id is not None else None
    model_file, gone = _model_file(db, kept, project)
    photo = spool_path(kept.sha256)
    return Served(
        id=kept.id,
        created_at=_aware(kept.created_at),
        expires_at=_aware(kept.expires_at),
        project=project.name if project else None,
        version=kept.version,
        model_file=model_file,
        model_gone=gone,
        labels=tuple(kept.labels),
        top=tuple((label, float(proba)) for label, proba in kept.top),
        label=kept.label,
        photo_sha256=kept.sha256,
        photo=photo if photo.is_file() else None,
        channel=kept.channel,
    )


def purge(db: Session | Connection) -> int:
    """Delete expired predictions, and the spooled photos no kept prediction still needs."""
    moment = now()
    expired = set(
        db.scalars(select(ServedPrediction.sha256).where(ServedPrediction.expires_at <= moment))
    )
    if not expired:
        return 0
    count = db.execute(
        delete(ServedPrediction).where(ServedPrediction.expires_at <= moment)
    ).rowcount
    still_needed = set(
        db.scalars(select(ServedPrediction.sha256).where(ServedPrediction.sha256.in_(expired)))
    )
    for sha in expired - still_needed:
        spool_path(sha).unlink(missing_ok=True)
    return count


def _spool(path: Path, photo: bytes) -> None:
    """Whole or not at all, but without fsync: the spool is short-lived, and a photo lost to a
    crash only makes its prediction uncorrectable, while fsync would slow every prediction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    partial.write_bytes(photo)
    os.replace(partial, path)


def _purge_now_and_then(db: Session | Connection) -> None:
    """A sweep at most once a minute per process, so no timer thread runs. It is part of the
    caller's transaction: a second connection would wait for the lock the insert holds."""
    global _last_purge
    with _purge_lock:
        if time.monotonic() - _last_purge < PURGE_EVERY_SECONDS:
            return
        _last_purge = time.monotonic()
    purge(db)


def _model_file(
    db: Session, kept: ServedPrediction, project: Project | None
) -> tuple[Path, str | None]:
    """(the .h5 that answered, why it can't be used now or None)."""
    if kept.project_id is None:
        path = Path(kept.model_path)
        if not path.is_file():
            return path, f"The model file {path.name} that answered is gone."
        return path, _changed(path, kept.model_sha256)
    path = home() / kept.model_path
    version = db.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == kept.project_id, ModelVersion.number == kept.version
        )
    )
    if version is None or version.card.get("h5_sha256") != kept.model_sha256:
        return path, f"Version {kept.version} of the project {project.name} has been deleted."
    if not path.is_file():
        return path, f"The file of version {kept.version} of {project.name} is gone."
    return path, None


def _changed(path: Path, sha256: str) -> str | None:
    """The shipped model's card says which .h5 it describes: a retrained model has another sha256."""
    from classifier.card import card_path, read_card
    from classifier.errors import ModelError

    try:
        current = read_card(card_path(path)).get("h5_sha256")
    except ModelError:
        current = None
    if current != sha256:
        return f"The model {path.name} has been replaced since this prediction was made."
    return None


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
