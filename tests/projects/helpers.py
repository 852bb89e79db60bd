"""Helpers for the projects tests: generated photos into a project, a real worker process, waiting on a job."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from projects import service
from projects.photos import Incoming, add_photos
from store import Job, session
from tests.imagegen import encode, shape_image


def shape_photos(label: str, count: int, first_seed: int = 0) -> list[Incoming]:
    return [Incoming(f"{label}{n}.png", encode(shape_image(label, seed=first_seed + n), "PNG")) for n in range(count)]


def add_shapes(db, project, labels, per_class: int = 8) -> None:
    for label in labels:
        add_photos(db, project, label, shape_photos(label, per_class))


@contextlib.contextmanager
def start_worker(home: Path, env: dict | None = None, log_name: str = "worker.log"):
    """A real `petclf worker` process with this test's environment; stopped (SIGTERM, then SIGKILL) at the end."""
    log_path = home.parent / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "petclf", "worker"], env={**os.environ, **(env or {})},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def job_state(job_id: str) -> dict:
    with session() as db:
        return service.job_dict(db.get(Job, job_id))


def wait_for_job(job_id: str, timeout: float, seen_phases: set | None = None, until=("done", "failed", "cancelled")) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_state(job_id)
        if seen_phases is not None and job["phase"]:
            seen_phases.add(job["phase"])
        if job["state"] in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job_state(job_id)} after {timeout} s")
