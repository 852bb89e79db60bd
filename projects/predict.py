"""Predicting with a project's active model, and exporting a version."""

import io
import zipfile

from sqlalchemy.orm import Session

from classifier import Prediction
from classifier.runtime import runtime_paths
from preprocessing import ImageError
from projects.engines import engine_for
from projects.errors import Conflict
from projects.predictions import ServedModel, record
from projects.service import active, version
from store import Project, home

ANOMALY = "No category (Anomaly)"  # the original API's answer for a photo the unknown rule rejects


def predict_many(
    db: Session, project: Project, images: list[bytes], *, channel: str | None = None
) -> list[Prediction | ImageError]:
    """One Prediction per image, or the ImageError that image raised (the others still answer).

    With `channel` ("page", "api", "bot") each prediction is kept for corrections and has its id."""
    engine = engine_for(db, project)
    served = ServedModel.of_version(active(db, project)) if channel else None
    results = []
    for data in images:
        try:
            prediction = engine.predict_bytes(data)
        except ImageError as exc:
            results.append(exc)
            continue
        results.append(record(db, prediction, data, served, channel) if served else prediction)
    return results


def export_zip(db: Session, project: Project, number: int | None = None) -> tuple[str, bytes]:
    """(file name, zip bytes) of a version (default: the active one): .h5, card, labels.txt, .tflite."""
    chosen = version(db, project, number) if number is not None else active(db, project)
    if chosen is None:
        raise Conflict(f"The project {project.name} has no trained model to export yet.")
    h5 = home() / chosen.path
    tflite, _ = runtime_paths(h5)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(h5, h5.name)
        archive.write(h5.with_suffix(".json"), h5.with_suffix(".json").name)
        archive.writestr("labels.txt", "\n".join(chosen.card["labels"]) + "\n")
        if tflite.is_file():
            archive.write(tflite, tflite.name)
    return f"{project.name}-v{chosen.number}.zip", buffer.getvalue()
