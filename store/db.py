"""The database: one SQLAlchemy engine per process and URL, migrated to the newest schema on first use.

PETCLF_DATABASE_URL picks it: by default a SQLite file in PETCLF_HOME; a `postgresql+psycopg://`
URL when several machines share one database.
"""

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from store.errors import ConfigError
from store.files import home

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
_ADVISORY_LOCK_ID = 0x70657463  # any fixed number: serialises migrations across PostgreSQL clients

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    url = os.environ.get("PETCLF_DATABASE_URL") or f"sqlite:///{home() / 'petclf.db'}"
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            f"PETCLF_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL, not {url.split(':')[0]}://…"
        )
    return url


def engine(url: str | None = None) -> Engine:
    """This process's engine for `url` (default: database_url()), migrated before first use."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            created = _create(url)
            migrate(created)
            _engines[url] = created
        return _engines[url]


@contextlib.contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back when it raises."""
    with sessionmaker(engine(url), expire_on_commit=False).begin() as db:
        yield db


def migrate(target: Engine) -> None:
    """Alembic `upgrade head`, one migrating process at a time."""
    from alembic import command
    from alembic.config import Config

    with _migration_lock(target), target.begin() as connection:
        if target.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _create(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    created = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(created, "connect")
    def _pragmas(connection, _record):
        # WAL lets the web workers read while a job writes; foreign keys make deletes cascade.
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(created, "savepoint")
    def _begin_before_savepoint(connection, _name):
        # pysqlite begins a transaction before INSERT/UPDATE/DELETE but not before SAVEPOINT, whose
        # RELEASE would then commit at once: a session that rolls back must undo its savepoints too.
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN")

    return created


@contextlib.contextmanager
def _migration_lock(target: Engine):
    """SQLite: a lock file beside the database, so web workers and the worker starting together
    don't create the same tables twice. PostgreSQL locks inside the migration's transaction."""
    database = target.url.database
    if target.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
