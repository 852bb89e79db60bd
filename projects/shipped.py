"""The shipped model's project, "pets": where corrections of the shipped model go.

It is created on demand, the first time someone corrects the shipped model: a classifier project
with the shipped model's classes whose version 1 is the shipped model itself (its .h5, card and
runtime copied into PETCLF_HOME/projects/pets/, like any version). Retraining it trains v2 on the
corrected photos with the same recipe as every project.
"""

import os
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.card import card_path, read_card
from projects import service
from projects.errors import Conflict
from store import ModelVersion, Project, home

SHIPPED_PROJECT = "pets"
PLOTS = (".confusion_matrix.png", ".curves.png", ".history.csv")  # shown on the project's page


def shipped_project(db: Session, model_file: Path) -> Project:
    """The "pets" project, created with `model_file` (the shipped .h5) as its v1 when missing."""
    found = db.scalar(select(Project).where(Project.name == SHIPPED_PROJECT))
    if found is not None:
        return found
    card = read_card(card_path(model_file))
    h5 = _copy_model(model_file, service.model_folder(SHIPPED_PROJECT) / "v1.h5")
    try:
        with db.begin_nested():
            project = service.create(db, SHIPPED_PROJECT, list(card["labels"]))
            db.add(
                ModelVersion(
                    project_id=project.id,
                    number=1,
                    path=str(h5.relative_to(home())),
                    card=card,
                    job_id=None,
                )
            )
            project.active_version = 1
            service.log(
                db, project, "info", "created", f"v1 is the shipped model {model_file.name}."
            )
    except Conflict:  # a concurrent correction created it first
        return service.get(db, SHIPPED_PROJECT)
    return project


def _copy_model(model_file: Path, target: Path) -> Path:
    """The model's files as `target` (v1.h5, v1.json, …), each appearing whole; the card last,
    since it names the .h5's sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = model_file.with_suffix("")
    for suffix in (*PLOTS, ".tflite", ".runtime.json", ".h5", ".json"):
        source = Path(f"{stem}{suffix}")
        if source.is_file():
            partial = target.with_name(f".{os.getpid()}{suffix}")
            shutil.copyfile(source, partial)
            os.replace(partial, target.with_suffix(suffix))
    return target
