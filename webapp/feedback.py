"""Corrections on the web: "Wrong? It's a …" under the page's result (POST /feedback), the API's
POST /api/v1/feedback, and their review: /projects/<name>/review for the admin, and the same
through /api/v1/projects/<name>/corrections/….

Sending a correction is open to everyone (limited per client by projects.corrections); reviewing
needs the admin. An accepted correction may make the project due for retraining
(PETCLF_RETRAIN_AFTER), which is queued here once the acceptance is committed.
"""

import logging

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for
from PIL import Image

import store
from projects import corrections, service
from projects.errors import Conflict, Invalid, NotFound, ProjectError
from store import photo_path
from webapp.auth import api_admin, csrf_ok, csrf_token, page_admin
from webapp.context import page_context
from webapp.errors import UploadError
from webapp.project_jobs import queue_training
from webapp.project_uploads import json_object

blueprint = Blueprint("feedback", __name__)
REVIEW_ACTIONS = ("accept", "reject")

log = logging.getLogger(__name__)


@blueprint.post("/api/v1/feedback")
def api_feedback():
    body = json_object(request)
    received = _correct(body.get("prediction_id"), body.get("label"), "api")
    return jsonify(
        correction=corrections.correction_dict(received.correction), recorded=received.new
    ), 201 if received.new else 200


@blueprint.post("/feedback")
def page_feedback():
    if not csrf_ok():
        raise UploadError(400, "csrf", "This form has expired; send the photo again.")
    label = request.form.get("label")
    received = _correct(request.form.get("prediction_id"), label, "page")
    return render_template(
        "feedback.html",
        label=label,
        new=received.new,
        none=corrections.NONE,
        **page_context(),
    )


@blueprint.get("/api/v1/projects/<name>/corrections")
@api_admin
def listing(name: str):
    with store.session() as db:
        project = service.get(db, name)
        found = corrections.listed(db, project, request.args.get("state", "pending"))
        return jsonify(
            corrections=[corrections.correction_dict(one) for one in found],
            counts=corrections.counts(db, project),
        )


@blueprint.get("/api/v1/projects/<name>/corrections/<int:correction_id>/image")
@api_admin
def image(name: str, correction_id: int):
    with store.session() as db:
        found = corrections.correction_of(db, service.get(db, name), correction_id)
    path = photo_path(found.sha256)
    if not path.is_file():
        raise NotFound("The photo of this correction is no longer kept.")
    with Image.open(path) as opened:  # reads the header only
        kind = (opened.format or "octet-stream").lower()
    return send_file(path, mimetype=f"image/{kind}", max_age=0)


@blueprint.post("/api/v1/projects/<name>/corrections/<int:correction_id>/<action>")
@api_admin
def review_api(name: str, correction_id: int, action: str):
    found = _review(name, correction_id, action)
    return jsonify(corrections.correction_dict(found))


@blueprint.get("/projects/<name>/review")
@page_admin
def review_page(name: str):
    with store.session() as db:
        project = service.get(db, name)
        waiting = corrections.listed(db, project)
        tally = corrections.counts(db, project)
        running = service.active_job(db, project)
        active = project.active_version
    return render_template(
        "review.html",
        project=name,
        waiting=waiting,
        counts=tally,
        job=running,
        active=active,
        none=corrections.NONE,
        admin=True,  # page_admin let only the admin in
        csrf_token=csrf_token,
        **page_context(),
    )


@blueprint.post("/projects/<name>/review/<int:correction_id>")
@page_admin
def review_form(name: str, correction_id: int):
    action = request.form.get("action", "")
    found = _review(name, correction_id, action)
    flash(f"Correction {found.id} {found.state}.")
    return redirect(url_for(".review_page", name=name))


def _correct(prediction_id, label, channel: str) -> corrections.Received:
    with store.session() as db:
        return corrections.correct(db, prediction_id, label, _client(), channel)


def _client() -> str:
    """Who sent it, for the flood limit: the address nginx saw (ProxyFix trusts one proxy)."""
    return f"ip:{request.remote_addr or 'unknown'}"


def _review(name: str, correction_id: int, action: str) -> store.Correction:
    if action not in REVIEW_ACTIONS:
        raise Invalid(f"The action must be accept or reject, not {action!r}.")
    with store.session() as db:
        project = service.get(db, name)
        found = corrections.correction_of(db, project, correction_id)
        if action == "accept":
            due = corrections.accept(db, project, found)
        else:
            corrections.reject(db, project, found)
            due = False
    if due:
        _retrain(name)
    return found


def _retrain(name: str) -> None:
    """PETCLF_RETRAIN_AFTER accepted corrections: a new version, unless one is training already."""
    try:
        queue_training(name, forceful=True)
    except Conflict:
        pass
    except (ProjectError, UploadError) as exc:
        log.warning("could not retrain %s after its corrections: %s", name, exc)
