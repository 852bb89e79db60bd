"""A worker killed with `kill -9` mid-training, and a cancelled job: the previous version keeps serving.

Both start v2 of the session's trained project (v1 active) in a real `petclf worker` and stop it
while its training child runs, before anything of v2 could be published.
"""

import os
import signal
import socket

from jobs import enqueue
from jobs.runner import WORKER_STOPPED
from projects import predict, service
from store import session
from tests.projects.helpers import (
    is_running,
    start_worker,
    training_child,
    wait_for_job,
    wait_for_training,
    wait_until,
)


def request_v2(name: str) -> str:
    with session() as db:
        job_id = service.request_training(db, service.get(db, name)).id
    enqueue(job_id)
    return job_id


def assert_v1_still_serves(trained) -> None:
    with session() as db:
        project = service.get(db, trained.name)
        assert project.active_version == 1
        assert [version.number for version in project.versions] == [1]
        [answer] = predict.predict_many(
            db, project, [(trained.photos / "cat" / "cat4.png").read_bytes()]
        )
    assert answer.top[0][0] == "cat"
    published = sorted(path.name for path in service.model_folder(trained.name).iterdir())
    assert not [name for name in published if name.startswith("v2")], published


def test_kill_9_of_the_worker_leaves_v1_serving_and_the_next_worker_fails_the_job(in_trained_home):
    trained = in_trained_home
    job_id = request_v2(trained.name)
    with start_worker(trained.home, log_name="killed-worker.log") as worker:
        wait_for_training(job_id)
        child = training_child(worker.pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        # The kernel kills the training process with its worker (PR_SET_PDEATHSIG): nothing can still publish v2.
        wait_until(lambda: not is_running(child), 30, "the training process dying with its worker")

    assert_v1_still_serves(trained)
    with session() as db:
        row = service.job(db, job_id)
        # nobody has noticed yet
        assert (row.state, row.worker) == (
            "running",
            f"{socket.gethostname()}:{worker.pid}",
        )

    with start_worker(trained.home, log_name="next-worker.log"):
        job = wait_for_job(job_id, timeout=120)
    assert job["state"] == "failed" and job["error"] == WORKER_STOPPED
    assert_v1_still_serves(trained)


def test_cancel_stops_the_training_within_5_s_and_v1_keeps_serving(in_trained_home):
    trained = in_trained_home
    job_id = request_v2(trained.name)
    with start_worker(trained.home, log_name="cancel-worker.log") as worker:
        wait_for_training(job_id)
        child = training_child(worker.pid)
        with session() as db:  # what DELETE /api/v1/jobs/<id> does
            service.cancel(db, service.job(db, job_id))
        # the promise: a cancelled job stops within 5 s
        job = wait_for_job(job_id, timeout=5)
        assert job["state"] == "cancelled", job
        assert not is_running(child)
        assert worker.poll() is None  # the worker itself goes on taking jobs

    assert_v1_still_serves(trained)
    with session() as db:
        events = [
            (entry.event, entry.job_id)
            for entry in service.log_entries(db, service.get(db, trained.name))
        ]
    assert ("job_cancelled", job_id) in events
