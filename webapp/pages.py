"""The upload page (GET /) and the result page (POST /)."""

import base64
import io

from flask import Blueprint, current_app, render_template, request

from preprocessing import ImageError
from projects.predictions import prediction_days, record_one
from webapp import gallery
from webapp.auth import csrf_token
from webapp.context import page_context
from webapp.errors import from_image_error
from webapp.uploads import FIELD, form_upload

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def upload_page():
    return render_template("index.html", **page_context())


@blueprint.post("/")
def result_page():
    engine = current_app.extensions["petclf_engine"]
    data = form_upload(request)
    try:
        image = engine.prepare(data)
    except ImageError as exc:
        raise from_image_error(exc) from None
    prediction = engine.predict_image(image)
    current_app.extensions["petclf_metrics"].predictions.labels(prediction.label).inc()
    prediction = record_one(prediction, data, current_app.extensions["petclf_served"], "page")
    tagger = current_app.extensions["petclf_tagger"]
    tags = tagger.tag_image(image) if tagger is not None else None
    # Kept only when the person ticked "keep this photo in the shared gallery" (off by default).
    kept = (
        gallery.keep(request.files[FIELD].filename or "upload", data)
        if request.form.get("keep")
        else None
    )
    response = current_app.make_response(
        render_template(
            "result.html",
            prediction=prediction,
            tags=tags,
            photo=_data_url(image),
            kept=kept,
            csrf_token=csrf_token,
            prediction_days=prediction_days(),
            **page_context(),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _data_url(image) -> str:
    """The 240×240 picture the model saw, inline (the upload waits only in the predictions' spool)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
