"""The one Huey instance: a SQLite file in PETCLF_HOME by default, Redis by PETCLF_QUEUE_URL.

Built on first use, never at import, so the URL is read from the environment of the process
that enqueues or consumes. Web processes only enqueue; `petclf worker` consumes.
"""

import functools
import os

from huey import RedisHuey, SqliteHuey

from jobs.errors import QueueUnavailable
from store import Job, home, session
from store.errors import ConfigError
from store.models import now

QUEUE_NAME = "petclf"
QUEUE_UNREACHABLE = "the job queue could not be reached"


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
        raise ConfigError(
            f"PETCLF_QUEUE_URL must be a redis:// or sqlite:/// URL, not {url.split(':')[0]}://…"
        )
    from jobs.runner import run_job

    # Results and errors live in the store's job rows, not in Huey.
    return huey, huey.task(name="run_job", retries=0)(run_job)


def huey():
    return _queue(queue_url())[0]


def enqueue(job_id: str) -> None:
    """Queue a job whose row is committed in the store. When the queue can't be reached, the row
    is marked failed (a row left "queued" would block its project for good) and QueueUnavailable raised."""
    try:
        _queue(queue_url())[1](job_id)
    except Exception as exc:  # Redis, SQLite and OS errors all mean the same here
        with session() as db:
            job = db.get(Job, job_id)
            if job is not None and job.state == "queued":
                job.state, job.finished_at, job.error = "failed", now(), QUEUE_UNREACHABLE
        raise QueueUnavailable(f"{QUEUE_UNREACHABLE}: {exc}") from exc
