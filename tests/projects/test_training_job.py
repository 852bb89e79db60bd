"""A project trained end to end: photos in the store → a queued job → a real `petclf worker` → an active version."""

from jobs import enqueue
from projects import predict, service
from store import session
from tests.imagegen import encode, shape_image
from tests.projects.helpers import TRAIN_PHASES, add_shapes, start_worker, wait_for_job


def test_a_worker_trains_and_activates_a_version(petclf_home):
    with session() as db:
        project = service.create(db, "shapes")
        add_shapes(db, project, ("cat", "dog"), per_class=8)
        job_id = service.request_training(db, project).id
    enqueue(job_id)
    phases = set()
    with start_worker(petclf_home):
        job = wait_for_job(job_id, timeout=240, seen_phases=phases)
    assert job["state"] == "done", job
    assert any(phase.startswith(TRAIN_PHASES) for phase in phases), phases
    with session() as db:
        project = service.get(db, "shapes")
        assert project.active_version == 1
        version = service.active(db, project)
        assert version.card["labels"] == ["cat", "dog"]
        assert (petclf_home / version.path).is_file()
        answers = predict.predict_many(db, project, [encode(shape_image("dog", seed=500))])
    assert answers[0].label in ("dog", "unknown")
    assert answers[0].top[0][0] == "dog"
