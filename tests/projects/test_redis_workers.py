"""Redis mode: two `petclf worker` processes take two projects' training jobs from one real redis-server."""

import socket

from huey import RedisHuey

from jobs import enqueue
from jobs.queue import huey
from projects import service
from store import session
from tests.projects.helpers import add_shapes, start_worker, wait_for_job

PROJECTS = ("red", "blue")


def test_two_workers_train_two_projects_from_one_redis_queue(petclf_home, redis_url, monkeypatch):
    monkeypatch.setenv("PETCLF_QUEUE_URL", redis_url)
    job_ids = []
    for name in PROJECTS:
        with session() as db:
            project = service.create(db, name)
            add_shapes(db, project, ("cat", "dog"), per_class=8)
            job_ids.append(service.request_training(db, project).id)
        enqueue(job_ids[-1])
    assert isinstance(huey(), RedisHuey) and huey().pending_count() == 2

    # Both jobs wait in Redis; each worker runs one job at a time, so each takes one.
    with (
        start_worker(petclf_home, log_name="worker-a.log") as first,
        start_worker(petclf_home, log_name="worker-b.log") as second,
    ):
        jobs = [wait_for_job(job_id, timeout=900) for job_id in job_ids]

    assert [job["state"] for job in jobs] == ["done", "done"], jobs
    with session() as db:
        takers = {service.job(db, job_id).worker for job_id in job_ids}
        assert all(service.get(db, name).active_version == 1 for name in PROJECTS)
    host = socket.gethostname()
    assert takers == {f"{host}:{first.pid}", f"{host}:{second.pid}"}
    assert huey().pending_count() == 0
    assert not (petclf_home / "queue.db").exists()  # no SQLite queue was involved
