"""The project pages: /projects lists and creates projects and fills the common pool;
/projects/<name> adds photos to a project's classes, trains it, shows its results and versions and
lets a person try it; /login and /logout.

Every page is rendered here and every write is a plain form that answers with a redirect and a
notice, so the pages work without JavaScript. projects.js upgrades the forms to the REST v1 API:
batched uploads with a progress bar, live training progress, top-5 bars.
"""

from urllib.parse import quote

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

import store
from preprocessing import ImageError
from projects import predict, service
from projects.errors import ProjectError
from projects.names import COMMON
from projects.photos import summary
from webapp.auth import csrf_ok, csrf_token, page_admin, token_matches
from webapp.context import page_context
from webapp.errors import UploadError, from_image_error
from webapp.project_api import OUTCOMES
from webapp.project_jobs import queue_training
from webapp.project_uploads import form_photos, store_photos
from webapp.uploads import form_upload

blueprint = Blueprint("project_pages", __name__)
RECENT_LOG = 10


@blueprint.context_processor
def _page_state() -> dict:
    return {
        **page_context(),
        "admin": bool(session.get("admin")),
        "csrf_token": csrf_token,
        "api_base": api_base,
        "login_url": login_url,
    }


def api_base(name: str) -> str:
    """The REST v1 address of a project, which projects.js builds its calls on."""
    return f"{request.script_root}/api/v1/projects/{quote(name, safe='')}"


def login_url() -> str:
    """The login form, coming back to this page (to the page a form was posted from)."""
    if request.method == "GET":
        here = request.full_path.rstrip("?")
    else:
        name = (request.view_args or {}).get("name")
        here = url_for(".project_page", name=name) if name else url_for(".projects_page")
    return url_for(".login", next=here)


@blueprint.get("/projects")
def projects_page():
    with store.session() as db:
        rows = [service.project_dict(db, project) for project in service.listing(db)]
        pool = service.pool_counts(db)
    return render_template("projects.html", projects=rows, pool=pool, common=COMMON)


@blueprint.post("/projects")
@page_admin
def create_project():
    classes = [part.strip() for part in request.form.get("classes", "").split(",") if part.strip()]
    with store.session() as db:
        name = service.create(db, request.form.get("name", ""), classes).name
    flash(f"Project {name} created. Drop photos into its classes, then train it.")
    return redirect(url_for(".project_page", name=name))


@blueprint.get("/projects/<name>")
def project_page(name: str):
    return _project_page(name)


@blueprint.post("/projects/<name>/photos")
@page_admin
def upload_photos(name: str):
    items = form_photos(request)
    with store.session() as db:
        project = service.get(db, name)
        label = None if project.kind == "common" else request.form.get("class")
        # When every file is refused this raises, and the class the upload would have made is not kept.
        outcomes = store_photos(
            db, project, label, items, side=request.form.get("side") or None, source="upload"
        )
    counts = summary(outcomes)
    flash(", ".join(f"{counts.get(status, 0)} {status}" for status in OUTCOMES) + ".")
    for outcome in outcomes:
        if outcome.status != "stored" or outcome.near_duplicates:
            looks_like = (
                f" It looks very like {', '.join(outcome.near_duplicates)}."
                if outcome.near_duplicates
                else ""
            )
            category = "error" if outcome.status == "rejected" else "notice"
            flash(f"{outcome.name}: {outcome.reason or 'stored.'}{looks_like}", category)
    return _back_to(name)


@blueprint.post("/projects/<name>/train")
@page_admin
def train(name: str):
    queue_training(name, forceful=True)
    flash("Training started; this page shows its progress.")
    return _back_to(name)


@blueprint.post("/projects/<name>/cancel")
@page_admin
def cancel(name: str):
    with store.session() as db:
        running = service.active_job(db, service.get(db, name))
        state = service.cancel(db, running).state if running else None
    flash(
        {None: "Nothing was training.", "cancelled": "Training cancelled."}.get(
            state, "Stopping the training…"
        )
    )
    return _back_to(name)


@blueprint.post("/projects/<name>/versions/<int:number>/activate")
@page_admin
def activate(name: str, number: int):
    with store.session() as db:
        service.activate(db, service.get(db, name), number)
    flash(f"Version {number} is now serving.")
    return _back_to(name)


@blueprint.post("/projects/<name>/try")
def try_it(name: str):
    data = form_upload(request)
    with store.session() as db:
        [answer] = predict.predict_many(db, service.get(db, name), [data], channel="page")
    if isinstance(answer, ImageError):
        problem = from_image_error(answer)
        return _project_page(name, status=problem.status, try_error=problem.message)
    return _project_page(name, prediction=answer)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = _same_site(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    if not csrf_ok():
        return render_template(
            "login.html", next=target, error="This form has expired; try again."
        ), 400
    if not token_matches(request.form.get("token", "").strip()):
        return render_template("login.html", next=target, error="That is not the admin token."), 403
    session["admin"] = True
    return redirect(target)


@blueprint.post("/logout")
def logout():
    session.clear()
    flash("Logged out.")
    return redirect(url_for(".projects_page"))


@blueprint.errorhandler(ProjectError)
def _project_error(exc: ProjectError):
    return _error_page(exc.status, exc.code, exc.message)


@blueprint.errorhandler(UploadError)
def _upload_error(exc: UploadError):
    return _error_page(exc.status, exc.code, exc.message)


@blueprint.errorhandler(413)
def _too_large(_exc):
    limit = current_app.config["MAX_UPLOAD_MB"]
    message = (
        f"The upload is larger than the {limit:g} MB limit; send fewer or smaller photos at a time."
    )
    return _error_page(413, "upload_too_large", message)


def _error_page(status: int, code: str, message: str):
    current_app.extensions["petclf_metrics"].errors.labels(code).inc()
    name = (request.view_args or {}).get("name")
    back = (
        url_for(".project_page", name=name) if name and status != 404 else url_for(".projects_page")
    )
    return render_template("project_error.html", message=message, back=back), status


def _project_page(name: str, status: int = 200, **extra):
    with store.session() as db:
        project = service.get(db, name)
        if project.kind == "common":
            return redirect(url_for(".projects_page", _anchor="common"))
        details = service.project_dict(db, project)
        versions = [
            service.version_dict(version, project.active_version) for version in project.versions
        ]
        events = service.log_entries(db, project, limit=RECENT_LOG)
    active = next((version for version in versions if version["active"]), None)
    page = render_template(
        "project.html", project=details, versions=versions, active=active, events=events, **extra
    )
    return page, status


def _back_to(name: str):
    if name == COMMON:
        return redirect(url_for(".projects_page", _anchor="common"))
    return redirect(url_for(".project_page", name=name))


def _same_site(target: str | None) -> str:
    """`next` when it is a path on this site; the projects list otherwise (no open redirect)."""
    # Browsers drop tabs and newlines and read "\\" as "/": "/\t/evil.example" would leave the site.
    odd = any(ch.isspace() or not ch.isprintable() for ch in target or "")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or odd:
        return url_for(".projects_page")
    return target
