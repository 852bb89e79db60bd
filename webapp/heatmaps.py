"""Why did it say that? The Grad-CAM overlay of a served prediction, made by the worker's
heat-map service (the web app never loads TensorFlow): GET /api/v1/predictions/<id>/heatmap.png,
and the "Why?" page linked under the result, /predictions/<id>/why.

Both take ?label=<class> for where the model saw another class; the default is its answer.
"""

import base64

from flask import Blueprint, Response, render_template, request

from classifier.heatmap_client import HeatMap, HeatmapError, heatmap
from projects.predictions import Served, lookup
from webapp.context import page_context
from webapp.errors import UploadError

blueprint = Blueprint("heatmaps", __name__)
EXPIRED = "This prediction is unknown or has expired; classify the photo again to see why."


@blueprint.get("/api/v1/predictions/<prediction_id>/heatmap.png")
def heatmap_png(prediction_id: str):
    served, label = _asked(prediction_id)
    response = Response(_overlay(served, label).png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"  # a given id's map never changes
    return response


@blueprint.get("/predictions/<prediction_id>/why")
def why_page(prediction_id: str):
    try:
        served, label = _asked(prediction_id)
        found = _overlay(served, label)
    except UploadError as exc:
        return render_template("why.html", error=exc.message, **page_context()), exc.status
    return render_template(
        "why.html",
        served=served,
        label=found.label,
        overlay="data:image/png;base64," + base64.b64encode(found.png).decode("ascii"),
        **page_context(),
    )


def _asked(prediction_id: str) -> tuple[Served, str | None]:
    """The kept prediction and the class asked about, or the UploadError that says why not."""
    served = lookup(prediction_id)
    if served is None or served.photo is None:
        raise UploadError(404, "not_found", EXPIRED)
    if served.model_gone:
        raise UploadError(410, "model_gone", served.model_gone)
    label = request.args.get("label") or None
    if label is not None and label not in served.labels:
        raise UploadError(
            422,
            "invalid",
            f"The model has no class {label!r}; it knows {', '.join(served.labels)}.",
        )
    return served, label


def _overlay(served: Served, label: str | None) -> HeatMap:
    try:
        photo = served.photo.read_bytes() if served.photo else b""
    except FileNotFoundError:  # the photo expired between the lookup and now
        photo = b""
    if not photo:
        raise UploadError(404, "not_found", EXPIRED)
    try:
        return heatmap(served.model_file, photo, label)
    except HeatmapError as exc:  # 503 when the service is down; its own status otherwise
        raise UploadError(exc.status, exc.code, str(exc)) from None
