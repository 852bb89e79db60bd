"""The library pages: /library (a thumbnail grid in time order, the filters, the offline map and the
plots), /library/photos/<id> (large view, EXIF, map pin, predictions) and /library/upload.

The filters are a plain GET form and the upload a plain POST form, so every page works without
JavaScript; library.js draws the map (a click sets the point to filter around) and follows a queued
upload's job.
"""

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

import library
import store
from library import Filters, InvalidFilter, LibraryError
from store import LibraryPhoto, LibraryTag
from webapp.auth import csrf_token, page_admin
from webapp.context import page_context
from webapp.errors import UploadError
from webapp.library_requests import (
    as_upload_error,
    filters_and_page,
    receive,
    shared_flag,
    uploaded_files,
)

blueprint = Blueprint("library_pages", __name__)
PER_PAGE = 60
SVG = "image/svg+xml"


@blueprint.context_processor
def page_state() -> dict:
    """What the library's and the gallery's templates know: the app, the admin's session, the login link."""
    return {
        **page_context(),
        "admin": bool(session.get("admin")),
        "csrf_token": csrf_token,
        "login_url": login_url,
    }


def login_url() -> str:
    """The login form, coming back to this page (to the library after a form's post)."""
    here = (
        request.full_path.rstrip("?")
        if request.method == "GET"
        else url_for("library_pages.library_page")
    )
    return url_for("project_pages.login", next=here)


@blueprint.get("/library")
def library_page():
    chosen = _chosen(request.args)
    with store.session() as db:
        known = {"classes": _labels(db), "tags": _tags(db)}
        try:
            filters, page, per_page = filters_and_page(request.args, PER_PAGE)
        except InvalidFilter as exc:
            return render_template("library.html", chosen=chosen, error=str(exc), **known), 400
        rows, total = library.find(db, filters, page, per_page)
        photos = [library.summary(row) for row in rows]
    query = _query(filters)
    return render_template(
        "library.html",
        chosen=chosen,
        photos=photos,
        total=total,
        page=page,
        pages=-(-total // per_page),
        query=query,
        filtered=bool(query),
        page_address=lambda number: url_for(".library_page", **query, page=number),
        **known,
    )


@blueprint.get("/library/photos/<int:photo_id>")
def photo_page(photo_id: int):
    with store.session() as db:
        photo = library.details(db, photo_id)
    return render_template("library_photo.html", photo=photo)


@blueprint.post("/library/photos/<int:photo_id>/delete")
@page_admin
def delete(photo_id: int):
    with store.session() as db:
        library.delete(db, photo_id)
    flash(f"Photo {photo_id} deleted.")
    return redirect(url_for(".library_page"))


@blueprint.get("/library/plots/months.svg")
def months_plot():
    return Response(library.per_month_svg(_stats()), mimetype=SVG)


@blueprint.get("/library/plots/classes.svg")
def classes_plot():
    return Response(library.per_class_svg(_stats()), mimetype=SVG)


@blueprint.get("/library/upload")
@page_admin
def upload_page():
    return render_template(
        "library_upload.html",
        job_id=request.args.get("job", ""),
        inline_limit=library.QUEUE_FROM_FILES,
    )


@blueprint.post("/library/upload")
@page_admin
def upload():
    received = receive(uploaded_files(request), shared=shared_flag(request))
    if received.job_id:
        return redirect(url_for(".upload_page", job=received.job_id))
    for outcome in received.outcomes:
        flash(
            f"{outcome.name}: {outcome.reason or outcome.status}",
            "notice" if outcome.added else "error",
        )
    return redirect(url_for(".upload_page"))


@blueprint.errorhandler(413)
def _too_large(_exc):
    limit = current_app.config["MAX_UPLOAD_MB"]
    return error_page(
        UploadError(
            413,
            "upload_too_large",
            f"The upload is larger than the {limit:g} MB limit; send fewer photos at a time.",
        )
    )


def error_page(exc: LibraryError | UploadError):
    """The library's and the gallery's pages answer their errors as a page, with the way back."""
    problem = as_upload_error(exc) if isinstance(exc, LibraryError) else exc
    current_app.extensions["petclf_metrics"].errors.labels(problem.code).inc()
    return render_template("library_error.html", error=problem.message), problem.status


blueprint.register_error_handler(LibraryError, error_page)
blueprint.register_error_handler(UploadError, error_page)


def _stats() -> dict:
    filters, _, _ = filters_and_page(request.args)
    with store.session() as db:
        return library.stats(db, filters)


def _chosen(args) -> dict:
    """The filter form's fields as the person typed them (kept when they don't parse)."""
    fields = {
        name: args.get(name, "")
        for name in ("tag", "from", "to", "near", "within_km", "place", "without_gps")
    }
    return {**fields, "classes": args.getlist("class")}


def _query(filters: Filters) -> dict[str, Any]:
    """The filters as url_for keywords, for the links that keep them (map, plots, report, pages)."""
    query: dict[str, Any] = {}
    for key, value in filters.to_query():
        query.setdefault(key, []).append(value)
    return query


def _labels(db) -> list[str]:
    return list(db.scalars(select(LibraryPhoto.label).distinct().order_by(LibraryPhoto.label)))


def _tags(db) -> list[str]:
    return list(db.scalars(select(LibraryTag.tag).distinct().order_by(LibraryTag.tag)))
