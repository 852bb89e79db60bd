"""The original image-analytics API, with its keys: /api/save_data, /api/make_model, /api/predict.

`temple_id` is the project's name ("common" is the shared pool of "none of these" photos). Bad
input gets the status REST v1 would give, with the reason in `error_msg` (a list for make_model
and predict, whose answers carry a list), never the original's 500.
"""

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

import store
from classifier import Prediction
from classifier.prediction import PROBA_DECIMALS
from projects import service
from projects.errors import Conflict, Invalid
from projects.photos import Incoming, check_side
from projects.predict import ANOMALY, predict_many
from store import Job, ModelVersion, Project
from webapp.auth import api_admin
from webapp.errors import UploadError
from webapp.project_jobs import finished, queue_training, wait_for
from webapp.project_uploads import (
    as_upload_error,
    base64_photos,
    flag,
    in_order,
    json_object,
    shown,
    store_photos,
)
from webapp.uploads import decode_base64

blueprint = Blueprint("original_api", __name__, url_prefix="/api")
LISTED_ERRORS = ("original_api.make_model", "original_api.predict")
DEFAULT_WAIT_SECONDS = 600
MAX_WAIT_SECONDS = 3600
BEFORE_THE_MODEL = ("", "preparing", "loading")  # job phases before a model is built and fitted


@blueprint.after_request
def _original_errors(response):
    """The app's error JSON, {"error": {"code", "message"}, …}, as the original's error_msg."""
    body = (
        response.get_json(silent=True) if response.status_code >= 400 and response.is_json else None
    )
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body.pop("error")["message"]
        body = {"error_msg": [message] if request.endpoint in LISTED_ERRORS else message, **body}
        response.set_data(current_app.json.dumps(body))
    return response


@blueprint.post("/save_data")
@api_admin
def save_data():
    body = json_object(request)
    side = check_side(body.get("train_test"))
    photo = Incoming(_file_name(body), decode_base64(body.get("image")))
    with store.session() as db:
        project = _project_to_fill(db, body.get("temple_id"))
        [outcome] = store_photos(
            db, project, body.get("category"), [photo], side=side, source="save_data"
        )
    answer: dict[str, object] = {"error_msg": "All OK"}
    if outcome.status == "duplicate":
        answer["duplicate"] = True
    if outcome.near_duplicates:
        answer["near_duplicates"] = outcome.near_duplicates
    return jsonify(answer)


@blueprint.post("/make_model")
@api_admin
def make_model():
    body = json_object(request)
    forceful, in_background = flag(body, "forceful", False), flag(body, "async", False)
    seconds = _wait_seconds(body)
    job_id = queue_training(body.get("temple_id"), forceful=forceful)
    if in_background:
        return jsonify(job_id=job_id, error_msg=[]), 202
    job = wait_for(job_id, seconds)
    with store.session() as db:
        return jsonify(_training_report(db, job, seconds)), 200 if finished(job) else 202


@blueprint.post("/predict")
def predict():
    body = json_object(request)
    items, several = _images(body)
    with store.session() as db:
        project = service.get(db, body.get("temple_id"))
        results = in_order(
            items,
            lambda readable: predict_many(
                db, project, [item.data for item in readable], channel="api"
            ),
        )
    if not several and not isinstance(results[0], Prediction):
        raise as_upload_error(results[0])
    # prediction_id: beside the original's keys, each answer's id for POST /api/v1/feedback
    answer: dict[str, list] = {
        "error_msg": [],
        "image_class": [],
        "class_confidence": [],
        "prediction_id": [],
    }
    for item, result in zip(items, results):
        if isinstance(result, Prediction):
            label, proba = result.top[0]
            answer["image_class"].append(ANOMALY if result.unknown else label)
            answer["class_confidence"].append(round(proba, PROBA_DECIMALS))
            answer["prediction_id"].append(result.id)
        else:  # the lists stay aligned with the images sent
            answer["error_msg"].append(f"{item.name}: {as_upload_error(result).message}")
            answer["image_class"].append(None)
            answer["class_confidence"].append(None)
            answer["prediction_id"].append(None)
    return jsonify(answer)


def _project_to_fill(db, name) -> Project:
    """The project save_data fills; the original created a missing one on its first photo."""
    try:
        return service.get(db, name, create_missing=True)
    except Conflict:  # a concurrent save_data created it since we looked
        return service.get(db, name)


def _file_name(body: dict) -> str:
    """The original stored `image_name.image_type`."""
    name, kind = body.get("image_name"), body.get("image_type")
    name = name if isinstance(name, str) and name else "photo"
    if isinstance(kind, str) and kind and "." not in name:
        name = f"{name}.{kind.lstrip('.')}"
    return name


def _wait_seconds(body: dict) -> float:
    seconds = body.get("timeout", DEFAULT_WAIT_SECONDS)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 < seconds <= MAX_WAIT_SECONDS
    ):
        raise Invalid(
            f'"timeout" must be a number of seconds above 0 and at most {MAX_WAIT_SECONDS}, not {shown(seconds)}.'
        )
    return seconds


def _training_report(db, job: Job, seconds: float) -> dict:
    """The original's flags, each read from what the job and the store show happened."""
    counts = service.class_counts(db, db.get(Project, job.project_id))
    saved = db.scalar(select(ModelVersion).where(ModelVersion.job_id == job.id))
    if job.state == "failed":
        errors = [f"Training failed: {job.error}"]
    elif job.state == "cancelled":
        errors = [job.message or "The training was cancelled."]
    elif not finished(job):
        errors = [f"Still training after {seconds:g} s; follow it at /api/v1/jobs/{job.id}."]
    else:
        errors = []
    return {
        "got_training_data_flag": bool(counts) and all(sides["train"] for sides in counts.values()),
        "got_testing_data_flag": any(sides["test"] for sides in counts.values()),
        "made_model_architecture_flag": job.state == "done" or job.phase not in BEFORE_THE_MODEL,
        "trained_model_flag": job.state == "done",
        "tested_model_flag": saved is not None and bool(saved.card.get("test_metrics")),
        "saved_model_flag": saved is not None,
        "error_msg": errors,
        "job_id": job.id,
        "version": saved.number if saved else None,
    }


def _images(body: dict) -> tuple[list, bool]:
    """The photos of "image" (base64, or a list of them) named by "image_name", and whether it was a list."""
    images, names = body.get("image"), body.get("image_name")
    if isinstance(images, str):
        return base64_photos(
            [(names if isinstance(names, str) and names else "image", images)]
        ), False
    if not isinstance(images, list) or not images:
        raise UploadError(
            400,
            "missing_image",
            'No photo was sent: "image" must be base64 text or a list of them.',
        )
    if not (
        isinstance(names, list)
        and len(names) == len(images)
        and all(isinstance(name, str) for name in names)
    ):
        names = [f"image {number}" for number in range(1, len(images) + 1)]
    return base64_photos(list(zip(names, images))), True
