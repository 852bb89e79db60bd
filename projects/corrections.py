"""Corrections: "Wrong? It's a …" from the page, the API or the bot, reviewed once by an admin.

A correction names one of the answering model's classes, or "none" (none of these). Its photo moves
from the predictions' spool to the photo store, so it outlives the prediction; the correction waits
in the model's project (the shipped model's go to "pets") until an admin accepts it, when the photo
joins the project's class with source "feedback" (a "none" photo joins the common pool), or rejects
it, when the photo is forgotten. The same correction sent twice is counted once, and one client may
send PETCLF_CORRECTIONS_PER_HOUR (default 60) at most.
"""

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from projects import service
from projects.errors import Conflict, Invalid, NotFound, TooMany
from projects.photos import Incoming, add_photos
from projects.predictions import find, spool_path
from projects.shipped import shipped_project
from store import Correction, Job, LibraryPhoto, Photo, Project, photo_path, put_photo
from store.models import CORRECTION_STATES, now

NONE = "none"  # "none of these": the photo is none of the model's classes
DEFAULT_PER_HOUR = 60
EXPIRED = "This prediction is unknown or has expired; classify the photo again to correct it."


@dataclass(frozen=True)
class Received:
    correction: Correction
    new: bool  # False when the same correction had been sent before


def per_hour() -> int:
    value = os.environ.get("PETCLF_CORRECTIONS_PER_HOUR") or str(DEFAULT_PER_HOUR)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"PETCLF_CORRECTIONS_PER_HOUR must be a whole number, 1 or more, not {value!r}"
        )
    return int(value)


def retrain_after() -> int | None:
    """PETCLF_RETRAIN_AFTER: retrain a project once it has this many newly accepted corrections."""
    value = os.environ.get("PETCLF_RETRAIN_AFTER", "").strip()
    if not value or value == "0":
        return None
    if not value.isdigit():
        raise ValueError(
            f"PETCLF_RETRAIN_AFTER must be a whole number of corrections, not {value!r}"
        )
    return int(value)


def correct(db: Session, prediction_id, label, client: str, channel: str) -> Received:
    """Record that the prediction `prediction_id` should have said `label`.

    Raises NotFound (unknown or expired), Invalid (a label the model doesn't have), TooMany (the
    client's hourly limit), Conflict (already reviewed with another label)."""
    kept = find(db, prediction_id) if isinstance(prediction_id, str) else None
    if kept is None:
        raise NotFound(EXPIRED)
    if not isinstance(label, str) or label not in (*kept.labels, NONE):
        choices = ", ".join([*kept.labels, NONE])
        raise Invalid(f"The label must be one of the model's classes or {NONE!r}: {choices}.")
    earlier = db.scalar(select(Correction).where(Correction.prediction_id == kept.id))
    if earlier is not None:
        return _again(earlier, label)
    _check_rate(db, client)
    spooled = spool_path(kept.sha256)
    if not spooled.is_file():
        raise NotFound(EXPIRED)
    put_photo(kept.sha256, spooled.read_bytes())  # kept now, whatever happens to the spool
    project = (
        db.get(Project, kept.project_id)
        if kept.project_id is not None
        else shipped_project(db, Path(kept.model_path))
    )
    correction = Correction(
        prediction_id=kept.id,
        project_id=project.id,
        version=kept.version,
        sha256=kept.sha256,
        top=kept.top,
        predicted=kept.label,
        label=label,
        state="pending",
        client=client[:128],
        channel=channel,
    )
    try:
        with db.begin_nested():
            db.add(correction)
    except IntegrityError:  # the same prediction corrected at the same moment
        earlier = db.scalar(select(Correction).where(Correction.prediction_id == kept.id))
        return _again(earlier, label)
    service.log(db, project, "info", "correction", _summary(correction))
    return Received(correction, True)


def correct_choice(db: Session, prediction_id, choice: str, client: str, channel: str) -> Received:
    """correct() by the class's index in the model's classes (or "none"): what the bot's buttons
    carry, since a class name may not fit Telegram's 64-byte callback data."""
    kept = find(db, prediction_id) if isinstance(prediction_id, str) else None
    if kept is None:
        raise NotFound(EXPIRED)
    if choice == NONE:
        return correct(db, prediction_id, NONE, client, channel)
    if not choice.isdigit() or int(choice) >= len(kept.labels):
        raise Invalid(f"The choice must be a class's number or {NONE!r}, not {choice!r}.")
    return correct(db, prediction_id, kept.labels[int(choice)], client, channel)


def listed(db: Session, project: Project, state: str = "pending") -> list[Correction]:
    """The project's corrections in one state, oldest first."""
    if state not in CORRECTION_STATES:
        raise Invalid(f"The state must be one of {', '.join(CORRECTION_STATES)}, not {state!r}.")
    return list(
        db.scalars(
            select(Correction)
            .where(Correction.project_id == project.id, Correction.state == state)
            .order_by(Correction.id)
        )
    )


def counts(db: Session, project: Project) -> dict[str, int]:
    rows = db.execute(
        select(Correction.state, func.count(Correction.id))
        .where(Correction.project_id == project.id)
        .group_by(Correction.state)
    )
    return {"pending": 0, "accepted": 0, "rejected": 0, **{state: count for state, count in rows}}


def correction_of(db: Session, project: Project, correction_id: int) -> Correction:
    found = db.get(Correction, correction_id)
    if found is None or found.project_id != project.id:
        raise NotFound(f"The project {project.name} has no correction {correction_id}.")
    return found


def accept(db: Session, project: Project, correction: Correction) -> bool:
    """The photo joins the project's class (or the common pool for "none"), source "feedback".

    Returns True when PETCLF_RETRAIN_AFTER says the project is due to be retrained (the caller
    queues the training once this session commits)."""
    _check_pending(correction)
    target = service.common_pool(db) if correction.label == NONE else project
    label = None if correction.label == NONE else correction.label
    name = f"correction-{correction.id}"
    [outcome] = add_photos(
        db,
        target,
        label,
        [Incoming(name, photo_path(correction.sha256).read_bytes())],
        source="feedback",
    )
    if outcome.status == "rejected":
        raise Invalid(f"The corrected photo can't be used: {outcome.reason}")
    photo = db.scalar(
        select(Photo).where(Photo.project_id == target.id, Photo.sha256 == correction.sha256)
    )
    if label is not None and outcome.status == "duplicate":  # the correction relabels the photo
        photo.class_id = service.class_for(db, project, label).id
    correction.state, correction.reviewed_at, correction.photo_id = "accepted", now(), photo.id
    service.log(db, project, "info", "correction_accepted", _summary(correction))
    return _retrain_due(db, project)


def reject(db: Session, project: Project, correction: Correction) -> None:
    """The correction is set aside and its photo forgotten, unless something else keeps it."""
    _check_pending(correction)
    correction.state, correction.reviewed_at = "rejected", now()
    service.log(db, project, "info", "correction_rejected", _summary(correction))
    db.flush()
    if not _still_needed(db, correction.sha256):
        photo_path(correction.sha256).unlink(missing_ok=True)


def correction_dict(correction: Correction) -> dict:
    return {
        "id": correction.id,
        "prediction_id": correction.prediction_id,
        "version": correction.version,
        "predicted": correction.predicted,
        "predictions": [{"label": label, "proba": proba} for label, proba in correction.top],
        "label": correction.label,
        "state": correction.state,
        "channel": correction.channel,
        "sha256": correction.sha256,
        "created_at": correction.created_at.isoformat(),
        "reviewed_at": correction.reviewed_at.isoformat() if correction.reviewed_at else None,
    }


def _again(earlier: Correction, label: str) -> Received:
    """The same correction again counts once; a pending one may still change its mind."""
    if earlier.label != label:
        if earlier.state != "pending":
            raise Conflict(f"This prediction's correction was {earlier.state} already.")
        earlier.label = label
    return Received(earlier, False)


def _check_rate(db: Session, client: str) -> None:
    since = now() - timedelta(hours=1)
    sent = db.scalar(
        select(func.count(Correction.id)).where(
            Correction.client == client[:128], Correction.created_at >= since
        )
    )
    if sent >= per_hour():
        raise TooMany(
            f"You sent {sent} corrections in the last hour, the most we take; thank you, and "
            "please send more later."
        )


def _check_pending(correction: Correction) -> None:
    if correction.state != "pending":
        raise Conflict(f"Correction {correction.id} was {correction.state} already.")


def _retrain_due(db: Session, project: Project) -> bool:
    threshold = retrain_after()
    if threshold is None or service.active_job(db, project) is not None:
        return False
    last_training = db.scalar(
        select(func.max(Job.created_at)).where(
            Job.project_id == project.id, Job.kind == service.TRAIN_JOB
        )
    )
    accepted = select(func.count(Correction.id)).where(
        Correction.project_id == project.id, Correction.state == "accepted"
    )
    if last_training is not None:
        accepted = accepted.where(Correction.reviewed_at > last_training)
    return db.scalar(accepted) >= threshold


def _still_needed(db: Session, sha256: str) -> bool:
    return bool(
        db.scalar(select(exists().where(Photo.sha256 == sha256)))
        or db.scalar(select(exists().where(LibraryPhoto.sha256 == sha256)))
        or db.scalar(
            select(exists().where(Correction.sha256 == sha256, Correction.state != "rejected"))
        )
    )


def _summary(correction: Correction) -> str:
    said = correction.predicted.replace("_", " ")
    meant = "none of these" if correction.label == NONE else correction.label.replace("_", " ")
    return f"Correction {correction.id}: answered {said}, said to be {meant} ({correction.state})."
