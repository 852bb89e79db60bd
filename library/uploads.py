"""Large uploads go through the job queue: the files are staged under PETCLF_HOME, a
`library_ingest` job is queued, and `petclf worker` ingests them (jobs/library_ingest.py) while
the page polls the job's progress.

    PETCLF_HOME/library/incoming/<job id>/<n>   the n-th uploaded file, until its job ends
"""

import shutil
import uuid
from pathlib import Path

from library.errors import LibraryError
from preprocessing.dataset import write_atomically
from store import Job, home, session

JOB_KIND = "library_ingest"
# More files than this in one upload are worth a job: the request would otherwise take minutes.
QUEUE_FROM_FILES = 8


def incoming_folder(job_id: str) -> Path:
    return home() / "library" / "incoming" / job_id


def discard_staged(job_id: str) -> None:
    """A job's staged upload, once the job has ended however it ended (no job retries an upload:
    the user sends it again)."""
    shutil.rmtree(incoming_folder(job_id), ignore_errors=True)


def queue_uploads(files: list[tuple[str, bytes]], *, shared: bool = False) -> str:
    """Stage the uploaded (name, bytes) files and queue their ingest; returns the job's id."""
    if not files:
        raise LibraryError("No files to add.")
    job_id = uuid.uuid4().hex[:16]
    folder = incoming_folder(job_id)
    folder.mkdir(parents=True)
    for number, (_, data) in enumerate(files):
        write_atomically(folder / str(number), data)
    names = [name or f"upload {number + 1}" for number, (name, _) in enumerate(files)]
    with session() as db:
        db.add(
            Job(
                id=job_id,
                kind=JOB_KIND,
                state="queued",
                params={"names": names, "shared": bool(shared)},
                total=len(files),
                message=f"{len(files)} photos waiting for a worker.",
            )
        )
    from jobs import enqueue  # the queue only once the job's row is committed

    enqueue(job_id)
    return job_id
