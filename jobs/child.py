"""`python -m jobs.child JOB_ID`: the process a worker starts for one job."""

import importlib
import logging
import sys
import traceback

from store import Job, session
from store.models import now

# What runs each kind of job, as "module:function(job_id)"; imported only in the child.
RUNNERS = {
    "train": "jobs.training:run_training",
    "library_ingest": "jobs.library_ingest:run_library_ingest",
}
# Errors from these packages are raised on purpose and carry a message meant for people.
OUR_PACKAGES = ("training", "projects", "classifier", "preprocessing", "jobs", "library", "store")


def main(job_id: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the schema check at start is not news
    try:
        with session() as db:
            kind = db.get(Job, job_id).kind
        module, function = RUNNERS[kind].split(":")
        getattr(importlib.import_module(module), function)(job_id)
    except Exception as exc:  # every failure ends in the job's row, in words a person can act on
        traceback.print_exc()
        expected = type(exc).__module__.split(".")[0] in OUR_PACKAGES
        with session() as db:
            job = db.get(Job, job_id)
            if job.state == "running":
                job.state, job.finished_at = "failed", now()
                job.error = str(exc) if expected else f"unexpected {type(exc).__name__}: {exc}"
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
