"""The stored state: SQLAlchemy models and sessions, Alembic migrations, and the
content-addressed photo files under PETCLF_HOME.

    with store.session() as db:
        db.scalars(select(Project)).all()
"""

from store.db import database_url, engine, session
from store.errors import StoreError
from store.files import home, photo_path, put_photo
from store.models import (
    Correction,
    Job,
    LibraryPhoto,
    LibraryTag,
    LogEntry,
    ModelVersion,
    Photo,
    Project,
    ProjectClass,
    ServedPrediction,
)

__all__ = [
    "Correction",
    "Job",
    "LibraryPhoto",
    "LibraryTag",
    "LogEntry",
    "ModelVersion",
    "Photo",
    "Project",
    "ProjectClass",
    "ServedPrediction",
    "StoreError",
    "database_url",
    "engine",
    "home",
    "photo_path",
    "put_photo",
    "session",
]
