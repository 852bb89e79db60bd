"""REST v1 for projects: /api/v1/projects/… and /api/v1/jobs/… (described in webapp/openapi.py).

Reads and predictions are open; writes need the admin token (webapp.auth.api_admin). Projects'
own errors (unknown project, invalid name, a job in the way…) are answered by the app's
ProjectError handler; the photo list of an upload answers here when every photo was refused.
"""

import io
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request, send_file
from sqlalchemy import select

import store
from classifier import Prediction
from projects import service
from projects.errors import Invalid, NotFound
from projects.photos import check_side, photo_of, summary
from projects.predict import export_zip, predict_many
from store import Photo, home, photo_path
from webapp.auth import api_admin
from webapp.errors import UploadError
from webapp.project_jobs import finished, queue_training, wait_for
from webapp.project_uploads import (
    PhotosRejected,
    as_upload_error,
    base64_photos,
    flag,
    form_photos,
    in_order,
    json_object,
    shown,
    store_photos,
)
from webapp.uploads import FORM_TYPES

blueprint = Blueprint("project_api", __name__, url_prefix="/api/v1")
CANCEL_WAIT_SECONDS = 5.0
OUTCOMES = ("stored", "duplicate", "rejected")
SEND_PHOTOS = (
    'send multipart field "class" (and optionally "side") with one or more files in field "file", '
    'or JSON {"class", "side", "images": [{"name", "image": "<base64>"}]}'
)
SEND_IMAGES = 'send multipart field "file" (one or more), or JSON {"image": "<base64>"} or {"images": ["<base64>", …]}'


@blueprint.errorhandler(PhotosRejected)
def _photos_rejected(exc: PhotosRejected):
    return jsonify(
        error={"code": exc.code, "message": exc.message}, results=exc.results
    ), exc.status


@blueprint.get("/projects")
def projects():
    with store.session() as db:
        return jsonify(projects=[service.project_dict(db, found) for found in service.listing(db)])


@blueprint.post("/projects")
@api_admin
def create_project():
    body = json_object(request)
    classes = body.get("classes", [])
    if not isinstance(classes, list):
        raise Invalid(f'"classes" must be a list of class names, not {shown(classes)}.')
    with store.session() as db:
        return jsonify(service.project_dict(db, service.create(db, body.get("name"), classes))), 201


@blueprint.get("/projects/<name>")
def project(name):
    with store.session() as db:
        return jsonify(
            {**service.project_dict(db, service.get(db, name)), "pool": service.pool_counts(db)}
        )


@blueprint.delete("/projects/<name>")
@api_admin
def delete_project(name):
    with store.session() as db:
        found = service.get(db, name)
        if found.kind == "common":
            raise Invalid(
                "The common pool is shared by every project and can't be deleted; delete its photos instead."
            )
        service.delete(db, found)
    return "", 204


@blueprint.post("/projects/<name>/photos")
@api_admin
def add_photos(name):
    fields: Mapping[str, Any]
    if request.mimetype in FORM_TYPES:
        fields, items = request.form, form_photos(request)
    else:
        fields = json_object(request, how=SEND_PHOTOS)
        items = base64_photos(_named_images(fields.get("images")))
    side = check_side(fields.get("side"))
    with store.session() as db:
        found = service.get(db, name)
        outcomes = store_photos(db, found, fields.get("class"), items, side=side, source="upload")
        return jsonify(
            results=[outcome.to_dict() for outcome in outcomes],
            summary={status: 0 for status in OUTCOMES} | summary(outcomes),
            counts=service.class_counts(db, found),
        )


@blueprint.get("/projects/<name>/photos")
def photos(name):
    side = check_side(request.args.get("side"))
    label = request.args.get("class")
    with store.session() as db:
        found = service.get(db, name)
        class_names = {photo_class.id: photo_class.name for photo_class in found.classes}
        query = select(Photo).where(Photo.project_id == found.id).order_by(Photo.id)
        if side:
            query = query.where(Photo.side == side)
        if label is not None:
            query = query.where(
                Photo.class_id.in_([key for key, value in class_names.items() if value == label])
            )
        listed = [_photo_dict(photo, class_names) for photo in db.scalars(query)]
        return jsonify(counts=service.class_counts(db, found), photos=listed)


@blueprint.get("/projects/<name>/photos/<int:photo_id>/image")
@api_admin
def photo_image(name, photo_id):
    with store.session() as db:
        photo = photo_of(db, service.get(db, name), photo_id)
    return send_file(photo_path(photo.sha256), mimetype=f"image/{photo.format.lower()}", max_age=0)


@blueprint.delete("/projects/<name>/photos/<int:photo_id>")
@api_admin
def delete_photo(name, photo_id):
    with store.session() as db:
        db.delete(photo_of(db, service.get(db, name), photo_id))
    return "", 204


@blueprint.post("/projects/<name>/train")
@api_admin
def train(name):
    forceful = flag(json_object(request, required=False), "forceful", True)
    job_id = queue_training(name, forceful=forceful)
    with store.session() as db:
        return jsonify(job=service.job_dict(service.job(db, job_id))), 202


@blueprint.get("/jobs/<job_id>")
def job(job_id):
    with store.session() as db:
        return jsonify(service.job_dict(service.job(db, job_id)))


@blueprint.delete("/jobs/<job_id>")
@api_admin
def cancel_job(job_id):
    with store.session() as db:
        service.cancel(db, service.job(db, job_id))
    stopped = wait_for(job_id, CANCEL_WAIT_SECONDS)
    return jsonify(service.job_dict(stopped)), 200 if finished(stopped) else 202


@blueprint.get("/projects/<name>/versions")
def versions(name):
    with store.session() as db:
        found = service.get(db, name)
        listed = [service.version_dict(version, found.active_version) for version in found.versions]
        return jsonify(versions=listed, active=found.active_version)


@blueprint.post("/projects/<name>/versions/<int:number>/activate")
@api_admin
def activate(name, number):
    with store.session() as db:
        found = service.get(db, name)
        return jsonify(
            service.version_dict(service.activate(db, found, number), found.active_version)
        )


@blueprint.get("/projects/<name>/versions/<int:number>/confusion_matrix.png")
def confusion_matrix(name, number):
    with store.session() as db:
        chosen = service.version(db, service.get(db, name), number)
    picture = (home() / chosen.path).with_suffix(".confusion_matrix.png")
    if not picture.is_file():
        raise NotFound(
            f"Version {number} of {name} has no confusion matrix: it had no test photos."
        )
    return send_file(picture, mimetype="image/png")


@blueprint.post("/projects/<name>/predict")
def predict(name):
    items, several = _images()
    with store.session() as db:
        found = service.get(db, name)
        results = in_order(
            items,
            lambda readable: predict_many(
                db, found, [item.data for item in readable], channel="api"
            ),
        )
    if several:
        return jsonify(results=[_answer(result) for result in results])
    if not isinstance(results[0], Prediction):
        raise as_upload_error(results[0])
    return jsonify(results[0].to_dict())


@blueprint.get("/projects/<name>/export")
@api_admin
def export(name):
    number = request.args.get("version")
    if number is not None and not number.isdigit():
        raise Invalid(f"version must be a version number, not {number!r}.")
    with store.session() as db:
        filename, data = export_zip(db, service.get(db, name), int(number) if number else None)
    return send_file(
        io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=filename
    )


@blueprint.get("/projects/<name>/log")
def project_log(name):
    with store.session() as db:
        found = service.get(db, name)
        entries = [_log_dict(entry) for entry in service.log_entries(db, found)]
        return jsonify(status=service.project_dict(db, found), log=entries)


def _named_images(entries) -> list[tuple[str, object]]:
    """(name, base64) pairs of a JSON upload's "images": [{"name", "image"}…]."""
    if not isinstance(entries, list) or not entries:
        raise UploadError(400, "missing_images", f"No photo was sent: {SEND_PHOTOS}.")
    pairs = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise UploadError(
                400,
                "invalid_images",
                f'Photo {number} of "images" must be an object {{"name", "image"}}.',
            )
        given = entry.get("name")
        pairs.append(
            (given if isinstance(given, str) and given else f"image {number}", entry.get("image"))
        )
    return pairs


def _images() -> tuple[list, bool]:
    """The photos to predict, and whether the client sent a list (one answer each)."""
    if request.mimetype in FORM_TYPES:
        items = form_photos(request)
        return items, len(items) > 1
    body = json_object(request, how=SEND_IMAGES)
    if "images" in body:
        texts = body["images"]
        if not isinstance(texts, list) or not texts:
            raise UploadError(
                400, "missing_images", f'"images" must be a list of base64 photos: {SEND_IMAGES}.'
            )
        return base64_photos(
            [(f"image {number}", text) for number, text in enumerate(texts, 1)]
        ), True
    if "image" not in body:
        raise UploadError(400, "missing_image", f"No photo was sent: {SEND_IMAGES}.")
    return base64_photos([("image", body["image"])]), False


def _answer(result) -> dict:
    if isinstance(result, Prediction):
        return result.to_dict()
    error = as_upload_error(result)
    return {"error": {"code": error.code, "message": error.message}}


def _photo_dict(photo: Photo, class_names: dict[int, str]) -> dict:
    return {
        "id": photo.id,
        "name": photo.original_name,
        "class": None if photo.class_id is None else class_names[photo.class_id],
        "side": photo.side,
        "source": photo.source,
        "sha256": photo.sha256,
        "created_at": photo.created_at.isoformat(),
    }


def _log_dict(entry) -> dict:
    return {
        "at": entry.at.isoformat(),
        "level": entry.level,
        "event": entry.event,
        "message": entry.message,
        "job_id": entry.job_id,
    }
