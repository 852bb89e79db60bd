"""Training one project: its photos → a split folder → `training.train` on the shipped backbone
(cached features, cross-fitted heads, threshold from out-of-fold scores, the common pool as
outlier exposure) → `v<n>.h5` + card + runtime, moved into place, then activated if it is not
worse than the serving version on the project's test photos (jobs/gate.py).

Nothing is served before the last step: a version exists for the servers only once its row is
committed, in the same transaction that marks the job done.
"""

import os
import shutil
from pathlib import Path

from sqlalchemy import func, select

from jobs.backbone import shipped_backbone
from jobs.errors import JobError
from jobs.gate import Verdict, judge
from jobs.progress import ProgressWriter
from store import Job, ModelVersion, Photo, Project, home, photo_path, session
from store.models import now

MAX_HEADS = 5
MAX_REJECT_RATE = 0.05
PUBLISHED_SUFFIXES = (".h5", ".json", ".history.csv", ".curves.png", ".confusion_matrix.png")


def run_training(job_id: str) -> None:
    from projects.service import model_folder

    work = home() / "jobs" / job_id
    shutil.rmtree(work, ignore_errors=True)
    progress = ProgressWriter(job_id)
    progress("preparing", 0, 1)
    with session() as db:
        job = db.get(Job, job_id)
        project = db.get(Project, job.project_id)
        name, number = project.name, _next_number(db, project)
        train_counts = _export_photos(db, project, work / "data")
        pool = _export_pool(db, work / "ood")
    backbone = shipped_backbone(home() / "backbones")
    progress.message(f"Training v{number} on the {backbone.architecture} backbone.")

    from training.train import TrainConfig, train

    out = work / "model" / f"v{number}.h5"
    out.parent.mkdir(parents=True)
    card = train(
        TrainConfig(
            data=work / "data",
            out=out,
            arch=backbone.architecture,
            backbone_weights=str(backbone.weights),
            backbone_size=backbone.input_size,
            epochs=0,
            heads=min(MAX_HEADS, min(train_counts.values())),
            head="linear",
            mirror=True,
            ood=work / "ood" if pool else None,
            max_reject_rate=MAX_REJECT_RATE,
            seed=1,
            feature_cache=home() / "features",
            verbose=0,
        ),
        log=lambda line: print(line, flush=True),
        progress=progress,
    )
    progress("publishing", 0, 1)
    h5 = _publish(out, model_folder(name))
    progress("comparing", 0, 1)
    verdict = judge(h5, *_serving(job_id), work / "data" / "test")
    _activate(job_id, number, h5, card, verdict)
    shutil.rmtree(work, ignore_errors=True)


def _next_number(db, project: Project) -> int:
    latest = db.scalar(
        select(func.max(ModelVersion.number)).where(ModelVersion.project_id == project.id)
    )
    return (latest or 0) + 1


def _export_photos(db, project: Project, root: Path) -> dict[str, int]:
    """data/{train,test}/<class>/<sha256>: links to the stored originals. Returns train counts."""
    counts = {label.name: 0 for label in project.classes}
    for photo in db.scalars(select(Photo).where(Photo.project_id == project.id)):
        label = photo.photo_class.name
        _link(photo.sha256, root / photo.side / label)
        counts[label] += photo.side == "train"
    if min(counts.values(), default=0) < 2:
        raise JobError("every class needs at least 2 train photos")
    return counts


def _export_pool(db, root: Path) -> int:
    """ood/pool/<sha256>: the common pool's photos, for outlier exposure and the false-accept rate."""
    shas = db.scalars(select(Photo.sha256).join(Project).where(Project.kind == "common")).all()
    for sha in shas:
        _link(sha, root / "pool")
    return len(shas)


def _link(sha256: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.link(photo_path(sha256), folder / sha256)
    except OSError:  # another filesystem
        shutil.copyfile(photo_path(sha256), folder / sha256)


def _publish(out: Path, folder: Path) -> Path:
    """Move the files into the project's folder (card after model) and build the fast runtime."""
    from classifier.artifact import open_artifact
    from classifier.runtime import ensure_runtime

    folder.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    for suffix in PUBLISHED_SUFFIXES:
        source = Path(f"{stem}{suffix}")
        if source.is_file():
            os.replace(source, folder / source.name)
    h5 = folder / out.name
    ensure_runtime(open_artifact(h5))
    return h5


def _serving(job_id: str) -> tuple[Path | None, int | None]:
    """The .h5 and number of the version the project serves now (None, None when none)."""
    with session() as db:
        project = db.get(Project, db.get(Job, job_id).project_id)
        serving = db.scalar(
            select(ModelVersion).where(
                ModelVersion.project_id == project.id,
                ModelVersion.number == project.active_version,
            )
        )
        return (home() / serving.path, serving.number) if serving else (None, None)


def _activate(job_id: str, number: int, h5: Path, card: dict, verdict: Verdict) -> None:
    from classifier.card import json_safe
    from projects.service import log

    with session() as db:
        job = db.get(Job, job_id, with_for_update=True)
        if job.state != "running" or job.cancel_requested:
            raise JobError(
                f"the job was {job.state if job.state != 'running' else 'cancelled'} before v{number} could be activated"
            )
        project = db.get(Project, job.project_id)
        db.add(
            ModelVersion(
                project_id=project.id,
                number=number,
                path=str(h5.relative_to(home())),
                card=json_safe(card),
                job_id=job_id,
            )
        )
        if verdict.activate:
            project.active_version = number
        metrics = card.get("test_metrics") or {}
        job.state, job.finished_at, job.phase, job.step, job.total = "done", now(), "done", 1, 1
        job.result = {
            "version": number,
            "accuracy": metrics.get("accuracy"),
            "threshold": card["unknown"]["threshold"],
            "false_accept_rate": card["unknown"].get("false_accept_rate"),
            "activated": verdict.activate,
            "gate": verdict.to_dict(),
        }
        job.message = _gate_message(number, verdict)
        log(
            db,
            project,
            "info" if verdict.activate else "warning",
            "version_activated" if verdict.activate else "version_kept_back",
            job.message,
            job_id,
        )


def _gate_message(number: int, verdict: Verdict) -> str:
    """Which figure decided, in words: "v3 trained and activated: accuracy on … 0.92 vs v2's 0.88"."""
    if verdict.active_accuracy is None:
        return f"v{number} trained and activated ({verdict.decided_by})."
    figures = (
        f"{verdict.decided_by}: {verdict.new_accuracy:.1%} against "
        f"v{verdict.active_version}'s {verdict.active_accuracy:.1%}"
    )
    if verdict.activate:
        return f"v{number} trained and activated, not worse on the {figures}."
    return (
        f"v{number} trained but not activated, worse on the {figures}; "
        f"v{verdict.active_version} keeps serving."
    )
