"""REST v1 for the photo library: /api/v1/library/… (described in webapp/openapi.py).

The filters are the CLI's, by the query string's names: class and tag (repeatable), from, to,
near=LAT,LON with within_km, place, without_gps=include|exclude|only; then page and per_page.
Reading is open; adding, deleting and the original files need the admin token.
"""

import io

from flask import Blueprint, current_app, jsonify, request, send_file, url_for
from PIL import Image

import library
import store
from library import LibraryError
from library.photos import get
from projects.service import job, job_dict
from store import photo_path
from webapp.auth import api_admin
from webapp.library_requests import (
    as_upload_error,
    counts,
    filters_and_page,
    receive,
    shared_flag,
    uploaded_files,
)

blueprint = Blueprint("library_api", __name__, url_prefix="/api/v1/library")
REPORT_NAME = "library-report.html"
NOT_ADDED = ("damaged", "skipped")


@blueprint.errorhandler(LibraryError)
def _library_error(exc: LibraryError):
    problem = as_upload_error(exc)
    current_app.extensions["petclf_metrics"].errors.labels(problem.code).inc()
    return jsonify(error={"code": problem.code, "message": problem.message}), problem.status


def paged(total: int, page: int, per_page: int, **items):
    """One page of a list, with where it stands: total, page, per_page and pages."""
    return jsonify(total=total, page=page, per_page=per_page, pages=-(-total // per_page), **items)


@blueprint.get("/photos")
def photos():
    filters, page, per_page = filters_and_page(request.args)
    with store.session() as db:
        rows, total = library.find(db, filters, page, per_page)
        listed = [with_links(library.summary(row)) for row in rows]
    return paged(total, page, per_page, photos=listed)


@blueprint.post("/photos")
@api_admin
def add_photos():
    shared = shared_flag(request)
    received = receive(uploaded_files(request), shared=shared)
    if received.job_id:
        with store.session() as db:
            return jsonify(job=job_dict(job(db, received.job_id))), 202
    body = {
        "results": [outcome.to_dict() for outcome in received.outcomes],
        "summary": counts(received.outcomes),
    }
    if all(outcome.status in NOT_ADDED for outcome in received.outcomes):
        first = received.outcomes[0]
        return jsonify(
            error={"code": "rejected", "message": f"{first.name}: {first.reason}"}, **body
        ), 422
    return jsonify(body)


@blueprint.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    with store.session() as db:
        return jsonify(with_links(library.details(db, photo_id)))


@blueprint.delete("/photos/<int:photo_id>")
@api_admin
def delete_photo(photo_id: int):
    with store.session() as db:
        library.delete(db, photo_id)
    return "", 204


@blueprint.get("/photos/<int:photo_id>/thumbnail")
def thumbnail(photo_id: int):
    with store.session() as db:
        data = library.thumbnail_bytes(db, photo_id)
    return _jpeg(data)


@blueprint.get("/photos/<int:photo_id>/view")
def view(photo_id: int):
    with store.session() as db:
        data = library.view_bytes(db, photo_id)
    return _jpeg(data)


@blueprint.get("/photos/<int:photo_id>/original")
@api_admin
def original(photo_id: int):
    with store.session() as db:
        found = get(db, photo_id)
        path, kind, name = (
            photo_path(found.sha256),
            Image.MIME.get(found.format, "application/octet-stream"),
            found.original_name,
        )
    if not path.is_file():
        raise library.NotFound(f"The original of photo {photo_id} is missing from the store.")
    return send_file(path, mimetype=kind, download_name=name, max_age=0)


@blueprint.get("/points")
def points():
    """The matching photos that have a position, for the map: paged like /photos, with larger pages
    (the map clusters them and fetches page after page)."""
    most = library.MAX_POINTS_PER_PAGE
    page, per_page = library.paging(request.args, default_per_page=most, most=most)
    filters = library.Filters.parse(request.args)
    with store.session() as db:
        rows, total = library.find_points(db, filters, page, per_page)
    placed = [
        {"id": row.id, "latitude": row.latitude, "longitude": row.longitude, "label": row.label}
        for row in rows
    ]
    return paged(total, page, per_page, points=placed)


@blueprint.get("/stats")
def stats():
    filters, _, _ = filters_and_page(request.args)
    with store.session() as db:
        return jsonify(library.stats(db, filters))


@blueprint.get("/report")
def report():
    """The self-contained HTML report of the matching photos, as a download."""
    filters, _, _ = filters_and_page(request.args)
    text = io.StringIO()
    with store.session() as db:
        library.write_report(db, filters, text)
    data = io.BytesIO(text.getvalue().encode())
    return send_file(
        data, mimetype="text/html", as_attachment=True, download_name=REPORT_NAME, max_age=0
    )


def with_links(photo: dict) -> dict:
    """A photo's JSON with the addresses of its pictures and page."""
    photo_id = photo["id"]
    return {
        **photo,
        "thumbnail": url_for("library_api.thumbnail", photo_id=photo_id),
        "view": url_for("library_api.view", photo_id=photo_id),
        "page": url_for("library_pages.photo_page", photo_id=photo_id),
    }


def _jpeg(data: bytes):
    return send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=3600)
