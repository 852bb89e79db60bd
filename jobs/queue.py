"""The one Huey instance: a SQLite file in PETCLF_HOME by default, Redis by PETCLF_QUEUE_URL.

Built on first use, never at import, so the URL is read from the environment of the process
that enqueues or consumes. Web processes only enqueue; `petclf worker` consumes.
"""

import functools
import os

from huey import RedisHuey, SqliteHuey

from store import home
from store.errors import ConfigError

QUEUE_NAME = "petclf"


def queue_url() -> str:
    return os.environ.get("PETCLF_QUEUE_URL") or f"sqlite:///{home() / 'queue.db'}"


@functools.cache
def _queue(url: str):
    """(the Huey instance, its run_job task) for `url`."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(QUEUE_NAME, url=url)
    elif url.startswith("sqlite:///"):
        huey = SqliteHuey(QUEUE_NAME, filename=url.removeprefix("sqlite:///"))
    else:
        raise ConfigError(f"PETCLF_QUEUE_URL must be a redis:// or sqlite:/// URL, not {url.split(':')[0]}://…")
    from jobs.runner import run_job

    # Results and errors live in the store's job rows, not in Huey.
    return huey, huey.task(name="run_job", retries=0)(run_job)


def huey():
    return _queue(queue_url())[0]


def enqueue(job_id: str) -> None:
    """Queue a job whose row is committed in the store."""
    _queue(queue_url())[1](job_id)
