"""What every page template needs to know about the running app."""

from flask import current_app


def page_context() -> dict:
    engine = current_app.extensions["petclf_engine"]
    return {
        "labels": engine.labels,
        "max_upload_mb": current_app.config["MAX_UPLOAD_MB"],
        "max_upload_bytes": current_app.config["MAX_CONTENT_LENGTH"],
    }
