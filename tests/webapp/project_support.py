"""Shared by the project API tests: a fresh store per test, the admin header, generated photos, and
a trained model registered as a project's version (the rows and files a training job publishes)."""

import base64
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

import store
from projects import service
from store import ModelVersion, Photo, Project
from tests.imagegen import encode, shape_image
from tests.stored_state import fresh_home
from webapp import create_app

TOKEN = "the-admin-token-for-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
WRONG = {"Authorization": "Bearer not-the-token"}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty PETCLF_HOME: its own SQLite store and queue, a known admin token."""
    return fresh_home(tmp_path, monkeypatch, token=TOKEN)


@pytest.fixture
def web(home, tiny_model):
    """A test client of an app with a 1 MB upload limit."""
    return create_app(model=tiny_model, max_upload_mb=1).test_client()


def photo(label: str, seed: int = 0) -> bytes:
    return encode(shape_image(label, seed=seed), "PNG")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def photo_count() -> int:
    with store.session() as db:
        return db.scalar(select(func.count()).select_from(Photo))


def project_names() -> list[str]:
    with store.session() as db:
        return list(db.scalars(select(Project.name).order_by(Project.name)))


def add_version(home: Path, name: str, model: Path, number: int) -> None:
    """`model` (.h5, card and whatever lies beside it) published as version `number` of project
    `name` and activated, as a training job leaves it. The project is created if missing.

    Engines are cached by the version's path, so each model gets project names of its own."""
    folder = service.model_folder(name)
    folder.mkdir(parents=True, exist_ok=True)
    for source in model.parent.glob(f"{model.stem}.*"):
        shutil.copy(source, folder / f"v{number}{source.name.removeprefix(model.stem)}")
    h5 = folder / f"v{number}.h5"
    with store.session() as db:
        project = db.scalar(select(Project).where(Project.name == name)) or service.create(db, name)
        card = json.loads(h5.with_suffix(".json").read_text())
        db.add(
            ModelVersion(
                project_id=project.id, number=number, path=str(h5.relative_to(home)), card=card
            )
        )
        project.active_version = number
