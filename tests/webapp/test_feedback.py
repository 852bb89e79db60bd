"""Corrections through the API and the pages (projects/corrections.py, webapp/feedback.py): sent,
counted once, refused when unknown, expired, off the model's classes or flooding; reviewed by the
admin; accepted photos join the project with source "feedback"."""

import io
import json
import re
import time

import pytest
from sqlalchemy import select

import store
from projects.names import COMMON
from store import Correction, Job, Photo, Project, photo_path
from tests.webapp.project_support import (  # noqa: F401
    ADMIN,
    TOKEN,
    add_version,
    b64,
    home,
    photo,
    web,
)


def predicted(web, label: str = "cat", seed: int = 0, project: str | None = None) -> str:
    where = f"/api/v1/projects/{project}/predict" if project else "/api/v1/predict"
    answer = web.post(where, json={"image": b64(photo(label, seed))})
    assert answer.status_code == 200, answer.json
    return answer.json["id"]


def feedback(web, prediction_id, label):
    return web.post("/api/v1/feedback", json={"prediction_id": prediction_id, "label": label})


def corrections() -> list[Correction]:
    with store.session() as db:
        return list(db.scalars(select(Correction).order_by(Correction.id)))


def photos_of(name: str) -> list[tuple]:
    """(sha256, source, class name or None, side) of each photo of the project."""
    with store.session() as db:
        project = db.scalar(select(Project).where(Project.name == name))
        found = db.scalars(select(Photo).where(Photo.project_id == project.id))
        return [
            (one.sha256, one.source, one.photo_class and one.photo_class.name, one.side)
            for one in found
        ]


def test_a_correction_of_the_shipped_model_waits_in_the_pets_project(web, tiny_model):
    prediction_id = predicted(web, "cat")
    sent = feedback(web, prediction_id, "dog")
    assert sent.status_code == 201 and sent.json["recorded"] is True
    assert sent.json["correction"]["label"] == "dog"
    assert sent.json["correction"]["state"] == "pending"

    pets = web.get("/api/v1/projects/pets").json  # created on demand: v1 is the shipped model
    assert list(pets["classes"]) == ["bird", "cat", "dog"] and pets["active_version"] == 1
    [version] = web.get("/api/v1/projects/pets/versions").json["versions"]
    assert version["labels"] == ["bird", "cat", "dog"]
    with store.session() as db:
        card = db.scalar(select(store.ModelVersion)).card
    assert card["h5_sha256"] == json.loads(tiny_model.with_suffix(".json").read_text())["h5_sha256"]

    assert pets["photos"] == 0  # pending review: not in the training set yet
    [correction] = corrections()
    assert photo_path(correction.sha256).read_bytes() == photo("cat")  # kept beyond the spool
    listed = web.get("/api/v1/projects/pets/corrections", headers=ADMIN).json
    assert [one["id"] for one in listed["corrections"]] == [correction.id]
    assert listed["counts"] == {"pending": 1, "accepted": 0, "rejected": 0}
    assert web.get("/api/v1/projects/pets/corrections").status_code == 401

    answers_from_v1 = web.post("/api/v1/projects/pets/predict", json={"image": b64(photo("dog"))})
    assert answers_from_v1.status_code == 200  # the copied shipped model serves as v1


def test_the_same_correction_twice_is_counted_once(web):
    prediction_id = predicted(web)
    assert feedback(web, prediction_id, "dog").status_code == 201
    again = feedback(web, prediction_id, "dog")
    assert again.status_code == 200 and again.json["recorded"] is False
    changed = feedback(web, prediction_id, "none")  # still pending: it may change its mind
    assert changed.status_code == 200 and changed.json["correction"]["label"] == "none"
    assert [(one.label, one.state) for one in corrections()] == [("none", "pending")]


@pytest.mark.parametrize(
    ("prediction_id", "label", "status"),
    [
        ("no-such-id", "dog", 404),
        (None, "dog", 404),
        (12, "dog", 404),
        ("KEEP", "horse", 422),
        ("KEEP", None, 422),
        ("KEEP", "", 422),
    ],
)
def test_bad_corrections_are_refused_and_store_nothing(web, prediction_id, label, status):
    kept = predicted(web)
    answer = feedback(web, kept if prediction_id == "KEEP" else prediction_id, label)
    assert answer.status_code == status
    assert answer.json["error"]["message"]
    assert corrections() == []


def test_a_correction_of_an_expired_prediction_is_refused(web, monkeypatch):
    monkeypatch.setenv("PETCLF_PREDICTION_DAYS", str(1 / 86400))
    prediction_id = predicted(web)
    time.sleep(1.1)
    answer = feedback(web, prediction_id, "dog")
    assert answer.status_code == 404 and "expired" in answer.json["error"]["message"]
    assert corrections() == []


def test_a_flood_from_one_client_gets_429(web, monkeypatch):
    monkeypatch.setenv("PETCLF_CORRECTIONS_PER_HOUR", "3")
    ids = [predicted(web, "cat", seed) for seed in range(4)]
    assert [feedback(web, one, "dog").status_code for one in ids] == [201, 201, 201, 429]
    assert feedback(web, ids[0], "dog").status_code == 200  # a repeat is no new correction
    assert len(corrections()) == 3


def test_accepting_adds_the_photo_and_rejecting_forgets_it(web):
    accepted_id, rejected_id, none_id = (predicted(web, "cat", seed) for seed in (1, 2, 3))
    feedback(web, accepted_id, "dog")
    feedback(web, rejected_id, "bird")
    feedback(web, none_id, "none")
    first, second, third = corrections()
    base = "/api/v1/projects/pets/corrections"
    assert web.post(f"{base}/{first.id}/accept").status_code == 401
    assert web.post(f"{base}/{first.id}/accept", headers=ADMIN).json["state"] == "accepted"
    assert web.post(f"{base}/{second.id}/reject", headers=ADMIN).json["state"] == "rejected"
    assert web.post(f"{base}/{third.id}/accept", headers=ADMIN).json["state"] == "accepted"
    assert web.post(f"{base}/{first.id}/reject", headers=ADMIN).status_code == 409
    assert web.post(f"{base}/{first.id}/maybe", headers=ADMIN).status_code == 422

    [(sha, source, label, side)] = photos_of("pets")
    assert (sha, source, label) == (first.sha256, "feedback", "dog")
    [pooled] = photos_of(COMMON)
    assert pooled[:3] == (third.sha256, "feedback", None)
    assert not photo_path(second.sha256).exists()
    counts = web.get("/api/v1/projects/pets/photos").json["counts"]
    assert counts["dog"] == {"train": int(side == "train"), "test": int(side == "test")}


def test_a_projects_prediction_is_corrected_into_that_project(web, home, tiny_model):
    add_version(home, "shapes", tiny_model, 1)
    prediction_id = predicted(web, "bird", project="shapes")
    assert feedback(web, prediction_id, "cat").status_code == 201
    with store.session() as db:
        assert db.scalar(select(Project.name).join(Correction)) == "shapes"
        assert db.scalar(select(Project).where(Project.name == "pets")) is None


def test_enough_accepted_corrections_queue_a_retraining(web, monkeypatch):
    monkeypatch.setenv("PETCLF_RETRAIN_AFTER", "2")
    ids = [predicted(web, "cat", seed) for seed in range(2)]
    for one in ids:
        feedback(web, one, "dog")
    for label in ("bird", "cat", "dog"):  # enough photos to train on
        files = [(io.BytesIO(photo(label, 50 + n)), f"{label}{n}.png") for n in range(5)]
        web.post(
            "/api/v1/projects/pets/photos", data={"class": label, "file": files}, headers=ADMIN
        )
    first, second = corrections()
    web.post(f"/api/v1/projects/pets/corrections/{first.id}/accept", headers=ADMIN)
    with store.session() as db:
        assert db.scalar(select(Job)) is None
    web.post(f"/api/v1/projects/pets/corrections/{second.id}/accept", headers=ADMIN)
    with store.session() as db:
        [job] = db.scalars(select(Job)).all()
    assert job.kind == "train"


def login(web) -> str:
    """Log the test client in as the admin; the session's CSRF token."""
    page = web.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    web.post("/login", data={"token": TOKEN, "csrf_token": token})
    return token


def test_the_page_offers_corrections_and_the_admin_reviews_them(web):
    result = web.post("/", data={"file": (io.BytesIO(photo("cat", 9)), "cat.png")})
    html = result.get_data(as_text=True)
    assert "Wrong? It's a …" in html and "kept only if you send a correction" in html
    assert re.findall(r'name="label" value="([^"]+)"', html) == ["bird", "cat", "dog", "none"]
    prediction_id = re.search(r'name="prediction_id" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    assert (
        web.post("/feedback", data={"prediction_id": prediction_id, "label": "dog"}).status_code
        == 400
    )
    thanks = web.post(
        "/feedback", data={"prediction_id": prediction_id, "label": "dog", "csrf_token": csrf}
    )
    words = " ".join(thanks.get_data(as_text=True).split())
    assert thanks.status_code == 200 and "We recorded that this photo is a dog." in words

    assert web.get("/projects/pets/review").status_code == 302  # the login first
    csrf = login(web)
    review = web.get("/projects/pets/review").get_data(as_text=True)
    [correction] = corrections()
    assert f'data-correction="{correction.id}"' in review and "Retrain now" in review
    image = web.get(f"/api/v1/projects/pets/corrections/{correction.id}/image")
    assert image.status_code == 200 and image.data == photo("cat", 9)
    done = web.post(
        f"/projects/pets/review/{correction.id}", data={"action": "accept", "csrf_token": csrf}
    )
    assert done.status_code == 302
    assert "No corrections are waiting" in web.get("/projects/pets/review").get_data(as_text=True)
    assert [source for _, source, _, _ in photos_of("pets")] == ["feedback"]


def test_a_projects_try_page_offers_corrections_into_the_project(web, home, tiny_model):
    add_version(home, "shapes", tiny_model, 1)
    tried = web.post("/projects/shapes/try", data={"file": (io.BytesIO(photo("bird", 4)), "b.png")})
    html = tried.get_data(as_text=True)
    assert re.findall(r'name="label" value="([^"]+)"', html) == ["bird", "cat", "dog", "none"]
    labels = re.search(r'data-labels="([^"]+)"', html).group(1)
    assert json.loads(labels.replace("&#34;", '"')) == ["bird", "cat", "dog"]  # for projects.js
    prediction_id = re.search(r'name="prediction_id" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    sent = web.post(
        "/feedback", data={"prediction_id": prediction_id, "label": "cat", "csrf_token": csrf}
    )
    assert sent.status_code == 200
    listed = web.get("/api/v1/projects/shapes/corrections", headers=ADMIN).json["corrections"]
    assert [(one["label"], one["channel"]) for one in listed] == [("cat", "page")]
