"""The JSON API: /api/v1/predict and /api/v1/model, plus /healthz and /metrics."""

from flask import Blueprint, Response, current_app, jsonify, request

from preprocessing import ImageError
from projects.predictions import record_one
from webapp.errors import UploadError, from_image_error
from webapp.uploads import api_upload

blueprint = Blueprint("api", __name__)
MAX_TOP = 20


@blueprint.post("/api/v1/predict")
def predict():
    engine = current_app.extensions["petclf_engine"]
    top = _top()
    data = api_upload(request)
    try:
        image = engine.prepare(data)  # decoded once, for the classifier and the tagger
    except ImageError as exc:
        raise from_image_error(exc) from None
    prediction = engine.predict_image(image, top=top)
    current_app.extensions["petclf_metrics"].predictions.labels(prediction.label).inc()
    prediction = record_one(prediction, data, current_app.extensions["petclf_served"], "api")
    shown = prediction.to_dict()
    tagger = current_app.extensions["petclf_tagger"]
    if tagger is not None:
        shown["tags"] = tagger.tag_image(image)
    response = jsonify(shown)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/api/v1/model")
def model_card():
    return jsonify(current_app.extensions["petclf_engine"].card)


@blueprint.get("/healthz")
def health():
    engine = current_app.extensions["petclf_engine"]
    return jsonify(
        status="ok",
        model=engine.card["name"],
        h5_sha256=engine.card["h5_sha256"],
        runtime=engine.runtime,
        precision=engine.precision,
    )


@blueprint.get("/metrics")
def metrics():
    body, content_type = current_app.extensions["petclf_metrics"].exposition()
    return Response(body, content_type=content_type)


def _top() -> int:
    text = request.args.get("top", "5")
    try:
        top = int(text)
    except ValueError:
        top = 0
    if not 1 <= top <= MAX_TOP:
        raise UploadError(
            400, "invalid_top", f"top must be a whole number from 1 to {MAX_TOP}, not {text!r}."
        )
    return top
