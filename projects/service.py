"""Projects: create, list, find and delete them; their photo counts, versions and log; training requests.

Every function takes an open store session; the caller (API, page, CLI) owns the transaction.
"""

import shutil
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from projects.errors import Conflict, Invalid, ModelExists, NotFound
from projects.names import COMMON, project_name
from projects.photos import class_for
from store import Job, LogEntry, ModelVersion, Photo, Project, ProjectClass, home
from store.models import FINISHED_STATES, now

MIN_CLASSES = 2
MIN_PHOTOS_PER_CLASS = 5
MIN_TRAIN_PHOTOS_PER_CLASS = 2  # cross-fitting needs a photo per fold, and at least two folds
TRAIN_JOB = "train"


def create(db: Session, name: str | None, classes: list[str] | None = None) -> Project:
    name = project_name(name)
    if name == COMMON:
        raise Invalid(
            f"'{COMMON}' is the shared pool of 'none of these' photos; choose another project name."
        )
    project = Project(name=name)
    try:
        with db.begin_nested():
            db.add(project)
    except IntegrityError:
        raise Conflict(f"A project named {name} exists already.") from None
    for label in classes or []:
        class_for(db, project, label)
    log(db, project, "info", "created", f"Project {name} created.")
    return project


def get(db: Session, name: str | None, *, create_missing: bool = False) -> Project:
    """The project named `name` (the common pool too). Raises NotFound unless `create_missing`."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid("Say which project (temple_id) this is for.")
    project = db.scalar(select(Project).where(Project.name == name.strip()))
    if project is not None:
        return project
    if name.strip() == COMMON:
        return common_pool(db)
    if create_missing:
        return create(db, name)
    raise NotFound(f"There is no project named {name.strip()}.")


def common_pool(db: Session) -> Project:
    pool = db.scalar(select(Project).where(Project.kind == "common"))
    if pool is None:
        pool = Project(name=COMMON, kind="common")
        try:
            with db.begin_nested():
                db.add(pool)
        except IntegrityError:  # created by a concurrent request
            pool = db.scalar(select(Project).where(Project.kind == "common"))
    return pool


def listing(db: Session) -> list[Project]:
    return list(
        db.scalars(select(Project).where(Project.kind == "classifier").order_by(Project.name))
    )


def delete(db: Session, project: Project) -> None:
    running = active_job(db, project)
    if running is not None:
        raise Conflict(
            f"The project {project.name} has a {running.state} job; cancel it first.", running.id
        )
    db.delete(project)
    db.flush()
    shutil.rmtree(model_folder(project.name), ignore_errors=True)


def class_counts(db: Session, project: Project) -> dict[str, dict[str, int]]:
    """{class: {"train": n, "test": n}} for every class, empty ones included."""
    counts = {label.name: {"train": 0, "test": 0} for label in project.classes}
    rows = db.execute(
        select(ProjectClass.name, Photo.side, func.count(Photo.id))
        .join(Photo, Photo.class_id == ProjectClass.id)
        .where(ProjectClass.project_id == project.id)
        .group_by(ProjectClass.name, Photo.side)
    )
    for label, side, count in rows:
        counts[label][side] = count
    return counts


def pool_counts(db: Session) -> dict[str, int]:
    pool = common_pool(db)
    rows = db.execute(
        select(Photo.side, func.count(Photo.id))
        .where(Photo.project_id == pool.id)
        .group_by(Photo.side)
    )
    return {"train": 0, "test": 0, **{side: count for side, count in rows}}


def warnings(counts: dict[str, dict[str, int]]) -> list[str]:
    """What a person should fix before training: too few photos, imbalance, an empty test side."""
    found = []
    totals = {label: sides["train"] + sides["test"] for label, sides in counts.items()}
    if len(totals) < MIN_CLASSES:
        found.append(
            f"A classifier needs at least {MIN_CLASSES} classes; this project has {len(totals)}."
        )
    for label, total in totals.items():
        if total < MIN_PHOTOS_PER_CLASS:
            found.append(
                f"The class {label} has {total} photos; it needs at least {MIN_PHOTOS_PER_CLASS}."
            )
        elif counts[label]["test"] == 0:
            found.append(
                f"The class {label} has no test photos, so its accuracy can't be measured."
            )
    if totals and min(totals.values()) and max(totals.values()) > 5 * min(totals.values()):
        found.append(
            "The classes are imbalanced (the largest has over 5× the photos of the smallest); "
            "training weights them, but more photos of the small ones help most."
        )
    return found


def check_trainable(counts: dict[str, dict[str, int]]) -> None:
    """Raises Invalid naming the first class that stops training."""
    if len(counts) < MIN_CLASSES:
        raise Invalid(
            f"A classifier needs at least {MIN_CLASSES} classes with photos; this project has {len(counts)}."
        )
    for label, sides in counts.items():
        total = sides["train"] + sides["test"]
        if total < MIN_PHOTOS_PER_CLASS:
            raise Invalid(
                f"The class {label} has {total} photos; add at least {MIN_PHOTOS_PER_CLASS - total} more."
            )
        if sides["train"] < MIN_TRAIN_PHOTOS_PER_CLASS:
            raise Invalid(
                f"The class {label} has {sides['train']} train photos; it needs at least {MIN_TRAIN_PHOTOS_PER_CLASS}."
            )


def request_training(db: Session, project: Project, *, forceful: bool = True) -> Job:
    """A queued training job for the project (the caller enqueues it once the session commits)."""
    if project.kind == "common":
        raise Invalid("The common pool is not a classifier; train a project that uses it.")
    running = active_job(db, project)
    if running is not None:
        raise Conflict(
            f"The project {project.name} is training already (job {running.id}, {running.state}).",
            running.id,
        )
    if project.active_version is not None and not forceful:
        raise ModelExists(
            f"The project {project.name} has a model already (v{project.active_version}); "
            "send forceful: true to train a new one."
        )
    check_trainable(class_counts(db, project))
    job = Job(
        id=uuid.uuid4().hex[:16], kind=TRAIN_JOB, project_id=project.id, state="queued", params={}
    )
    db.add(job)
    db.flush()
    log(db, project, "info", "train_requested", "Training requested.", job.id)
    return job


def active_job(db: Session, project: Project) -> Job | None:
    return db.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.state.not_in(FINISHED_STATES))
        .order_by(Job.created_at)
    )


def version(db: Session, project: Project, number: int) -> ModelVersion:
    found = db.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == project.id, ModelVersion.number == number
        )
    )
    if found is None:
        raise NotFound(f"The project {project.name} has no version {number}.")
    return found


def active(db: Session, project: Project) -> ModelVersion | None:
    return (
        version(db, project, project.active_version) if project.active_version is not None else None
    )


def activate(db: Session, project: Project, number: int) -> ModelVersion:
    chosen = version(db, project, number)
    project.active_version = chosen.number
    log(db, project, "info", "activated", f"Version {number} is now serving.")
    return chosen


def model_folder(name: str):
    """Where a project's versions live: PETCLF_HOME/projects/<name>/v<n>.h5 (+ card, runtime, plots)."""
    return home() / "projects" / name


def log(
    db: Session, project: Project, level: str, event: str, message: str, job_id: str | None = None
) -> None:
    db.add(
        LogEntry(project_id=project.id, level=level, event=event, message=message, job_id=job_id)
    )


def log_entries(db: Session, project: Project, limit: int = 200) -> list[LogEntry]:
    return list(
        db.scalars(
            select(LogEntry)
            .where(LogEntry.project_id == project.id)
            .order_by(LogEntry.id.desc())
            .limit(limit)
        )
    )[::-1]


def job(db: Session, job_id: str) -> Job:
    found = db.get(Job, job_id) if isinstance(job_id, str) else None
    if found is None:
        raise NotFound(f"There is no job {job_id}.")
    return found


def cancel(db: Session, found: Job) -> Job:
    """A queued job is cancelled at once; a running one is killed by its worker within a second."""
    if found.state == "queued":
        found.state, found.finished_at, found.message = (
            "cancelled",
            now(),
            "Cancelled before it started.",
        )
    elif found.state == "running":
        found.cancel_requested = True
    return found


def job_dict(found: Job) -> dict:
    return {
        "id": found.id,
        "kind": found.kind,
        "state": found.state,
        "phase": found.phase,
        "step": found.step,
        "total": found.total,
        "eta_seconds": found.eta_seconds,
        "metrics": found.metrics,
        "message": found.message,
        "error": found.error,
        "result": found.result,
        "cancel_requested": found.cancel_requested,
        "created_at": _iso(found.created_at),
        "started_at": _iso(found.started_at),
        "finished_at": _iso(found.finished_at),
    }


def version_dict(found: ModelVersion, active_number: int | None) -> dict:
    card = found.card
    metrics = card.get("test_metrics") or {}
    return {
        "number": found.number,
        "active": found.number == active_number,
        "created_at": _iso(found.created_at),
        "job_id": found.job_id,
        "labels": card["labels"],
        "accuracy": metrics.get("accuracy"),
        "test_images": metrics.get("images"),
        "per_class": metrics.get("per_class"),
        "confusion_matrix": metrics.get("confusion_matrix"),
        "threshold": card["unknown"]["threshold"],
        "false_accept_rate": card["unknown"].get("false_accept_rate"),
    }


def project_dict(db: Session, project: Project) -> dict:
    counts = class_counts(db, project)
    running = active_job(db, project)
    return {
        "name": project.name,
        "created_at": _iso(project.created_at),
        "classes": counts,
        "photos": sum(sides["train"] + sides["test"] for sides in counts.values()),
        "warnings": warnings(counts),
        "active_version": project.active_version,
        "versions": len(project.versions),
        "job": job_dict(running) if running else None,
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
