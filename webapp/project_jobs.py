"""Training requests from the web: a job row committed, then queued; and waiting on a job by
polling its row in the store (the worker, perhaps on another host, writes it)."""

import logging
import time

import jobs
import store
from jobs.errors import QueueUnavailable
from projects import service
from store import Job
from store.models import FINISHED_STATES
from webapp.errors import UploadError

POLL_SECONDS = 0.25

log = logging.getLogger(__name__)


def queue_training(name, *, forceful: bool) -> str:
    """The id of a new training job for the project named `name`, queued for a worker."""
    with store.session() as db:
        job_id = service.request_training(db, service.get(db, name), forceful=forceful).id
    try:
        jobs.enqueue(job_id)  # only now: a worker must find the committed row
    except QueueUnavailable:
        log.exception("could not queue job %s", job_id)
        raise UploadError(
            503,
            "queue_unavailable",
            "The job queue can't be reached right now; try again in a minute.",
        ) from None
    return job_id


def wait_for(job_id: str, seconds: float) -> Job:
    """The job once it has finished, or as it is after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        with store.session() as db:
            job = service.job(db, job_id)
        if finished(job) or time.monotonic() >= deadline:
            return job
        time.sleep(POLL_SECONDS)


def finished(job: Job) -> bool:
    return job.state in FINISHED_STATES
