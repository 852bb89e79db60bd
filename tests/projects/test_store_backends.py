"""The store on both databases it supports: SQLite (the default) and PostgreSQL (a throwaway cluster).

Every test gets a fresh, empty database, so each one also proves the migrations apply from nothing.
"""

import threading
import uuid
from collections import Counter

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

import store
from projects import service
from projects.errors import Conflict
from projects.photos import Incoming, add_photos
from store import Job, LogEntry, ModelVersion, Photo, Project, ProjectClass, session
from store.db import MIGRATIONS, migrate
from tests.imagegen import encode, shape_image
from tests.projects.helpers import add_shapes

TABLES = {"projects", "classes", "photos", "model_versions", "jobs", "project_log"}


def fresh_postgres_database(cluster_url: str) -> str:
    """A new, empty database in the test cluster; its SQLAlchemy URL."""
    name = f"petclf_{uuid.uuid4().hex[:12]}"
    server, _, _ = cluster_url.rpartition("/")
    with psycopg.connect(
        f"{server.replace('postgresql+psycopg', 'postgresql')}/postgres", autocommit=True
    ) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("PETCLF_HOME", str(tmp_path / "home"))
    if request.param == "postgresql":
        monkeypatch.setenv(
            "PETCLF_DATABASE_URL", fresh_postgres_database(request.getfixturevalue("postgres_url"))
        )
    else:
        monkeypatch.delenv("PETCLF_DATABASE_URL", raising=False)
    return request.param


def photo(label: str = "cat", seed: int = 0) -> bytes:
    return encode(shape_image(label, seed=seed), "PNG")


def count(model, **where) -> int:
    with session() as db:
        return db.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_migrations_apply_on_first_use(dialect):
    engine = store.engine()
    assert engine.dialect.name == dialect
    assert TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == ScriptDirectory.from_config(config).get_current_head()
        )
    migrate(engine)  # a second start finds nothing to do
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_an_exact_duplicate_is_stored_once(dialect):
    with session() as db:
        project = service.create(db, "pets")
        first = add_photos(
            db, project, "cat", [Incoming("a.png", photo()), Incoming("b.png", photo())]
        )
    with session() as db:
        again = add_photos(db, service.get(db, "pets"), "dog", [Incoming("c.png", photo())])
    assert [outcome.status for outcome in first + again] == ["stored", "duplicate", "duplicate"]
    assert "a.png" in again[0].reason
    assert count(Photo) == 1
    assert store.photo_path(first[0].sha256).read_bytes() == photo()


def test_concurrent_uploads_of_the_same_photo_store_it_once(dialect):
    with session() as db:
        service.create(db, "pets", ["cat"])
    uploads = 6
    start = threading.Barrier(uploads)
    outcomes, errors = [], []

    def upload(n: int) -> None:
        start.wait()
        try:
            with session() as db:
                outcomes.extend(
                    add_photos(
                        db, service.get(db, "pets"), "cat", [Incoming(f"upload{n}.png", photo())]
                    )
                )
        except Exception as exc:  # any error is a failed upload: the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Counter(outcome.status for outcome in outcomes) == {
        "stored": 1,
        "duplicate": uploads - 1,
    }
    assert count(Photo) == 1


def test_a_second_training_request_is_a_conflict_naming_the_first_job(dialect):
    with session() as db:
        project = service.create(db, "pets")
        add_shapes(db, project, ("cat", "dog"), per_class=6)
        first = service.request_training(db, project)
    assert (first.state, first.kind) == ("queued", "train")
    with pytest.raises(Conflict) as raised, session() as db:
        service.request_training(db, service.get(db, "pets"))
    assert (raised.value.status, raised.value.job_id) == (409, first.id)
    assert count(Job) == 1

    with session() as db:
        service.cancel(db, service.job(db, first.id))
    with session() as db:
        assert service.request_training(db, service.get(db, "pets")).id != first.id


def test_deleting_a_project_deletes_everything_of_it(dialect):
    with session() as db:
        kept, doomed = service.create(db, "kept"), service.create(db, "doomed")
        for project in (kept, doomed):
            add_shapes(db, project, ("cat", "dog"), per_class=6)
            job = service.request_training(db, project)
            service.cancel(db, job)
            db.add(
                ModelVersion(
                    project_id=project.id,
                    number=1,
                    path=f"projects/{project.name}/v1.h5",
                    card={"labels": ["cat", "dog"]},
                    job_id=job.id,
                )
            )
        doomed_id = doomed.id
    folder = service.model_folder("doomed")
    folder.mkdir(parents=True)
    (folder / "v1.h5").write_bytes(b"model")
    tables = (ProjectClass, Photo, ModelVersion, Job, LogEntry)
    before = {model: count(model, project_id=doomed_id) for model in tables}
    assert all(before.values()), before

    with session() as db:
        service.delete(db, service.get(db, "doomed"))
    assert {model: count(model, project_id=doomed_id) for model in tables} == dict.fromkeys(
        tables, 0
    )
    assert count(Project, name="doomed") == 0 and not folder.exists()
    assert count(Photo, project_id=kept.id) == 12 and count(ModelVersion, project_id=kept.id) == 1
