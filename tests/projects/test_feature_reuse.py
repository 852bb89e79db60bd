"""Project training reads the feature cache: training the same photos again runs no backbone."""

from jobs import enqueue
from projects import service
from store import session
from tests.projects.helpers import add_shapes, start_worker, wait_for_job


def _train(petclf_home) -> dict:
    with session() as db:
        job_id = service.request_training(db, service.get(db, "shapes")).id
    enqueue(job_id)
    with start_worker(petclf_home):
        job = wait_for_job(job_id, timeout=240)
    assert job["state"] == "done", job
    with session() as db:
        return service.active(db, service.get(db, "shapes")).card["training"]["feature_cache"]


def test_a_second_version_of_the_same_photos_computes_no_features(petclf_home):
    with session() as db:
        add_shapes(db, service.create(db, "shapes"), ("cat", "dog"), per_class=6)
    first = _train(petclf_home)
    assert first["computed"] > 0 and first["read"] == 0
    assert any((petclf_home / "features").rglob("*.npy"))
    second = _train(petclf_home)
    assert second == {"computed": 0, "read": first["computed"]}
