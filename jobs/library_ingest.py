"""A `library_ingest` job: the files of a large upload, staged by `library.uploads.queue_uploads`,
ingested into the photo library with progress in the job's row; the staged files go when it ends."""

from collections import Counter

from jobs.progress import ProgressWriter
from store import Job, session
from store.models import now

# outcomes kept in the job's result besides the counts: the ones that weren't added first
MAX_LISTED = 500


def run_library_ingest(job_id: str) -> None:
    from library.files import Item
    from library.ingest import Options, ingest
    from library.uploads import discard_staged, incoming_folder

    with session() as db:
        params = db.get(Job, job_id).params
    folder = incoming_folder(job_id)
    items = [
        Item(name=name, path=folder / str(number), uploaded=True)
        for number, name in enumerate(params["names"])
    ]
    progress = ProgressWriter(job_id)
    counts: Counter[str] = Counter()

    def tally(outcome, done: int, total: int) -> None:
        counts[outcome.status] += 1
        progress("ingesting", done, total, counts)

    progress("ingesting", 0, len(items))
    try:
        outcomes = ingest(items, options=Options(shared=bool(params.get("shared"))), progress=tally)
    finally:  # what was added is committed; the rest of a failed upload is sent again, not retried
        discard_staged(job_id)
    listed = sorted(outcomes, key=lambda outcome: outcome.added)[:MAX_LISTED]
    with session() as db:
        job = db.get(Job, job_id)
        job.state, job.finished_at, job.phase, job.step, job.total = (
            "done",
            now(),
            "done",
            len(items),
            len(items),
        )
        job.result = {"counts": dict(counts), "outcomes": [outcome.to_dict() for outcome in listed]}
        job.message = (
            ", ".join(
                f"{count} {status.replace('_', ' ')}" for status, count in sorted(counts.items())
            )
            + "."
        )
