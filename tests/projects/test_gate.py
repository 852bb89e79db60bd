"""The not-worse gate (jobs/gate.py): a retrained version serves only if it answers the project's
test photos at least as well as the version serving now, and the job's result says which figure
decided."""

import json
import shutil

from jobs.gate import judge
from jobs.runner import run_job
from projects import service
from projects.photos import add_photos
from store import ModelVersion, session
from tests.projects.helpers import shape_photos


def all_unknown(model, folder):
    """The model with a card whose threshold no photo reaches: every answer is "unknown"."""
    for suffix in (".h5", ".tflite", ".runtime.json"):
        if model.with_suffix(suffix).is_file():
            shutil.copy(model.with_suffix(suffix), folder / f"unsure{suffix}")
    card = json.loads(model.with_suffix(".json").read_text())
    card["unknown"].update(method="max_softmax", temperature=1.0, threshold=1.01)
    (folder / "unsure.json").write_text(json.dumps(card))
    return folder / "unsure.h5"


def test_the_better_model_wins_on_the_same_photos(tiny_model, tiny_training_data, tmp_path):
    test = tiny_training_data[0] / "test"
    unsure = all_unknown(tiny_model, tmp_path)

    better = judge(tiny_model, unsure, 4, test)
    assert better.activate and better.test_photos == 30
    assert better.decided_by == "accuracy on the project's 30 test photos"
    assert better.new_accuracy > 0.8 and better.active_accuracy == 0.0

    worse = judge(unsure, tiny_model, 4, test)
    assert not worse.activate and worse.active_version == 4
    assert worse.new_accuracy == 0.0 and worse.active_accuracy == better.new_accuracy

    assert judge(unsure, None, None, test).decided_by == "no version was serving"
    nothing = judge(unsure, tiny_model, 4, tmp_path / "no-test-photos")
    assert nothing.activate and "no test photos" in nothing.decided_by


def test_a_worse_retrained_version_is_kept_back(petclf_home, base_model):
    """v1 is a good model; v2 learns from photos whose cat and dog labels are swapped."""
    folder = service.model_folder("shapes")
    folder.mkdir(parents=True)
    for source in base_model.parent.glob("base.*"):
        shutil.copy(source, folder / f"v1{source.name.removeprefix('base')}")
    with session() as db:
        project = service.create(db, "shapes", ["bird", "cat", "dog"])
        db.add(
            ModelVersion(
                project_id=project.id,
                number=1,
                path="projects/shapes/v1.h5",
                card=json.loads((folder / "v1.json").read_text()),
            )
        )
        project.active_version = 1
        for label, shown_as in (("bird", "bird"), ("cat", "dog"), ("dog", "cat")):
            add_photos(db, project, shown_as, shape_photos(label, 6, 700), side="train")
            add_photos(db, project, label, shape_photos(label, 4, 900), side="test")
        job_id = service.request_training(db, project).id

    run_job(job_id)  # the worker's task, in this process; the training in its child

    with session() as db:
        job = service.job_dict(service.job(db, job_id))
        project = service.get(db, "shapes")
        assert job["state"] == "done", job
        assert project.active_version == 1  # v1 keeps serving
        assert [version.number for version in project.versions] == [1, 2]  # v2 kept, to inspect
    gate = job["result"]["gate"]
    assert job["result"]["activated"] is False
    assert gate["decided_by"] == "accuracy on the project's 12 test photos"
    assert gate["new_accuracy"] < gate["active_accuracy"] and gate["active_version"] == 1
    assert "not activated" in job["message"] and "v1 keeps serving" in job["message"]
