"""Who may write: reading predictions is open; uploading, training, deleting and activating need
the admin token — a Bearer header for the API, or for the pages a login form that sets a session
cookie, with a CSRF token on every form and fetch that writes.

The token is PETCLF_ADMIN_TOKEN, or else one generated once and kept in PETCLF_HOME/admin_token.
"""

import functools
import hashlib
import hmac
import os
import secrets

from flask import current_app, redirect, request, session, url_for

from store import home
from webapp.errors import UploadError

TOKEN_FILE = "admin_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def admin_token() -> tuple[str, bool]:
    """(the token, whether it was generated just now). Several processes may race: one file wins."""
    configured = os.environ.get("PETCLF_ADMIN_TOKEN")
    if configured:
        return configured, False
    path = home() / TOKEN_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(24)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return token, True


def session_secret(token: str) -> bytes:
    """The cookie-signing key, derived from the token: every web worker and host agrees on it, and
    changing the token logs everyone out."""
    return hmac.new(token.encode(), b"petclf session cookies", hashlib.sha256).digest()


def token_matches(given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), current_app.config["PETCLF_ADMIN_TOKEN"].encode())


def is_admin() -> bool:
    """A Bearer token, or a logged-in page session whose request carries the CSRF token."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return token_matches(header.removeprefix("Bearer ").strip())
    return bool(session.get("admin")) and csrf_ok()


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(24)
    return session[CSRF_FIELD]


def csrf_ok() -> bool:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    expected = session.get(CSRF_FIELD)
    if not given or not expected:
        return False
    return hmac.compare_digest(given, expected)


def api_admin(view):
    """API writes: 401 with the usual error JSON unless the caller is the admin."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if not is_admin():
            raise UploadError(
                401,
                "unauthorized",
                "This needs the admin token: send 'Authorization: Bearer <token>'.",
            )
        return view(*args, **kwargs)

    return guarded


def page_admin(view):
    """Page writes and admin pages: the login form first; a form without its CSRF token is refused."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if not session.get("admin"):
            return redirect(url_for("project_pages.login", next=request.full_path.rstrip("?")))
        if not csrf_ok():
            raise UploadError(400, "csrf", "This form has expired; reload the page and try again.")
        return view(*args, **kwargs)

    return guarded
