"""The Flask application factory: `gunicorn "webapp:create_app()"` or `petclf serve`."""

import logging
import os
import time

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

import store
from classifier import load_engine
from classifier.artifact import model_path
from projects.errors import ProjectError
from projects.predictions import ServedModel
from webapp import (
    api,
    feedback,
    gallery,
    heatmaps,
    library_api,
    library_pages,
    openapi,
    original_api,
    pages,
    project_api,
    project_pages,
)
from webapp.auth import admin_token, session_secret
from webapp.context import page_context
from webapp.errors import ConfigError, UploadError
from webapp.metrics import Metrics
from webapp.uploads import InMemoryRequest

DEFAULT_MAX_UPLOAD_MB = 10.0
SECURITY_HEADERS = {
    # No inline script or style anywhere: the page's JS and CSS are static files.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "upload_too_large",
}

log = logging.getLogger(__name__)


def create_app(model: str | os.PathLike | None = None, max_upload_mb: float | None = None) -> Flask:
    """Load the model (once per process) and build the app.

    Settings: arguments, falling back to PETCLF_MODEL / PETCLF_MAX_UPLOAD_MB, falling back to
    models/pets.h5 and 10 MB. A missing or broken model raises classifier.ModelError naming the file.
    """
    max_upload_mb = _upload_limit(max_upload_mb)

    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.json.sort_keys = False  # type: ignore[attr-defined]  # the contract's order: predictions, label, unknown
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 1024 * 1024)
    app.config["MAX_UPLOAD_MB"] = max_upload_mb
    # One interpreter per request thread (PETCLF_THREADS is gunicorn's threads setting too).
    app.extensions["petclf_engine"] = load_engine(model_path(model), threads=_threads())
    app.extensions["petclf_served"] = ServedModel.shipped(app.extensions["petclf_engine"])
    app.extensions["petclf_tagger"] = _tagger()
    app.extensions["petclf_metrics"] = Metrics()
    _stored_state(app)
    # nginx in front is the one proxy whose forwarded headers are trusted.
    # Flask's documented way to wrap the WSGI app, which mypy reads as assigning to a method.
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1
    )
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(project_api.blueprint)
    app.register_blueprint(original_api.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(project_pages.blueprint)
    app.register_blueprint(library_api.blueprint)
    app.register_blueprint(library_pages.blueprint)
    app.register_blueprint(gallery.blueprint)
    app.register_blueprint(feedback.blueprint)
    app.register_blueprint(heatmaps.blueprint)
    app.before_request(_start_clock)
    app.after_request(_finish)
    app.register_error_handler(UploadError, _upload_error)
    app.register_error_handler(ProjectError, _project_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.filters["label_name"] = lambda label: label.replace("_", " ")
    return app


def _tagger():
    """The tags model of PETCLF_TAGS_MODEL (`petclf train --task tags`), if one is set."""
    path = os.environ.get("PETCLF_TAGS_MODEL")
    return load_engine(path, threads=_threads(), task="tags") if path else None


def _stored_state(app: Flask) -> None:
    """The store migrated to the newest schema, and the admin token that signs page sessions."""
    store.engine()
    token, _ = admin_token()
    app.config["PETCLF_ADMIN_TOKEN"] = token
    app.secret_key = session_secret(token)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


def _upload_limit(value) -> float:
    if value is None:
        value = os.environ.get("PETCLF_MAX_UPLOAD_MB") or DEFAULT_MAX_UPLOAD_MB
    try:
        limit = float(value)
    except ValueError:
        raise ConfigError(
            f"PETCLF_MAX_UPLOAD_MB must be a number of megabytes, not {value!r}"
        ) from None
    if not 0 < limit <= 1024:
        raise ConfigError(
            f"PETCLF_MAX_UPLOAD_MB must be between 0 and 1024 megabytes, not {value!r}"
        )
    return limit


def _threads() -> int:
    value = os.environ.get("PETCLF_THREADS") or "4"
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"PETCLF_THREADS must be a whole number of threads, 1 or more, not {value!r}"
        )
    return int(value)


def _start_clock() -> None:
    g.started = time.perf_counter()


def _finish(response):
    response.headers.update(SECURITY_HEADERS)
    started = g.get("started")
    if started is not None:
        metrics: Metrics = current_app.extensions["petclf_metrics"]
        metrics.observe_request(
            request.endpoint or "unmatched",
            request.method,
            response.status_code,
            time.perf_counter() - started,
        )
    return response


def _upload_error(exc: UploadError):
    current_app.extensions["petclf_metrics"].errors.labels(exc.code).inc()
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    return render_template("index.html", error=exc.message, **page_context()), exc.status


def _project_error(exc: ProjectError):
    """The usual error JSON on /api/ paths, with the job in the way beside a 409; pages as _upload_error renders them."""
    response = _upload_error(UploadError(exc.status, exc.code, exc.message))
    job_id = getattr(exc, "job_id", None)
    if job_id and request.path.startswith("/api/"):
        body, status = response
        return jsonify({**body.get_json(), "job_id": job_id}), status
    return response


def _http_error(exc: HTTPException):
    code = HTTP_ERROR_CODES.get(exc.code or 500, "http_error")
    if exc.code == 413:
        message = f"The upload is larger than the {current_app.config['MAX_UPLOAD_MB']:g} MB limit; send a smaller photo."
    elif isinstance(exc, MethodNotAllowed):
        allowed = sorted(set(exc.valid_methods or []) - {"HEAD", "OPTIONS"})
        message = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
    elif exc.code == 404:
        message = "There is nothing at this address."
    else:
        message = exc.description or exc.name
    response = _upload_error(UploadError(exc.code or 500, code, message))
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        body, status = response
        return body, status, {"Allow": ", ".join(exc.valid_methods)}
    return response


def _unexpected_error(exc: Exception):
    log.exception("unexpected error answering %s %s", request.method, request.path)
    return _upload_error(
        UploadError(500, "internal_error", "Something went wrong on our side; please try again.")
    )
