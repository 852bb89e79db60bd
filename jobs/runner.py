"""Running one job in the worker: a child process does the work; this side watches over it.

The child writes its progress and its result to the job's row. This side beats the job's
heartbeat, kills the child's whole process group when a cancel is requested (a hard cancel:
training code can't be interrupted politely mid-epoch), and records how the child ended.
The child dies with the worker (PR_SET_PDEATHSIG), so a worker killed with `kill -9` leaves no
training behind that could still activate a version; `recover` marks such jobs failed.
"""

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, timedelta

from sqlalchemy import select

from library.uploads import discard_staged
from store import Job, home, session
from store.models import now

HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 0.25
# A running job whose heartbeat is older than this lost its worker (another host's, say).
STALE_AFTER = timedelta(seconds=30)
WORKER_STOPPED = "worker stopped"
_PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: str) -> None:
    """The Huey task: start the job unless it was cancelled while queued, then watch its child."""
    with session() as db:
        job = db.get(Job, job_id)
        if job is None or job.state != "queued":
            discard_staged(job_id)
            return  # cancelled (or deleted with its project) before a worker took it
        job.state, job.started_at, job.heartbeat_at, job.worker = (
            "running",
            now(),
            now(),
            worker_id(),
        )
    log_path = job_log_path(job_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "jobs.child", job_id],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    log.info("job %s: started in process %s", job_id, child.pid)
    cancelled = _watch(job_id, child)
    _record_end(job_id, child.returncode, cancelled)
    discard_staged(job_id)  # a killed child can't remove what it was given


def _watch(job_id: str, child: subprocess.Popen) -> bool:
    """Wait for the child; beat the heartbeat; kill it when a cancel is requested. True if cancelled."""
    last_beat = 0.0
    while child.poll() is None:
        time.sleep(POLL_SECONDS)
        with session() as db:
            job = db.get(Job, job_id)
            if job.cancel_requested:
                _kill_group(child)
                return True
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                job.heartbeat_at, last_beat = now(), time.monotonic()
    return False


def _record_end(job_id: str, code: int, cancelled: bool) -> None:
    from projects import service

    with session() as db:
        job = db.get(Job, job_id)
        # the child records success and its own errors; this covers the rest
        if job.state == "running":
            if cancelled:
                job.state, job.message = (
                    "cancelled",
                    "Cancelled; the previous version keeps serving.",
                )
            else:
                job.state = "failed"
                job.error = (
                    job.error
                    or f"the training process ended unexpectedly (exit code {code}); see {job_log_path(job_id)}"
                )
            job.finished_at = now()
        project = job.project_id and db.get(service.Project, job.project_id)
        if project is not None:
            level = {"done": "info", "cancelled": "warning"}.get(job.state, "error")
            service.log(
                db,
                project,
                level,
                f"job_{job.state}",
                job.error or job.message or f"Job {job.state}.",
                job.id,
            )
    log.info("job %s: %s", job_id, job.state)


def recover() -> int:
    """At worker start: mark failed the running jobs whose worker is gone; return how many."""
    me = socket.gethostname()

    def gone(job: Job) -> bool:
        host, _, pid = (job.worker or ":").rpartition(":")
        if host == me and not _alive(int(pid or 0)):
            return True
        return job.heartbeat_at is None or now() - _aware(job.heartbeat_at) > STALE_AFTER

    return _fail_running(gone)


def abandon_mine() -> int:
    """At worker stop: its running jobs die with it (their children too), so say so at once."""
    me = worker_id()
    return _fail_running(lambda job: job.worker == me)


def _fail_running(condition) -> int:
    count = 0
    with session() as db:
        for job in db.scalars(select(Job).where(Job.state == "running")):
            if condition(job):
                job.state, job.error, job.finished_at = "failed", WORKER_STOPPED, now()
                discard_staged(job.id)
                count += 1
    return count


def job_log_path(job_id: str):
    return home() / "jobs" / f"{job_id}.log"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(moment):
    """SQLite hands datetimes back without their zone; they were written in UTC."""

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kill_group(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the worker dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
