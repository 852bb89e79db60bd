"""The upload page and JSON API: `gunicorn "webapp:create_app()"`."""

from webapp.app import create_app

__all__ = ["create_app"]
