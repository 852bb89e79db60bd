"""Every served prediction gets a short id, kept with its model, top 5 and photo for a bounded time
(projects/predictions.py): through the API, a project's API and the page."""

import io
import re
import time
from datetime import timedelta

import store
from projects import predictions
from store import ServedPrediction
from tests.webapp.project_support import (  # noqa: F401
    add_version,
    b64,
    home,
    photo,
    web,
)

ID = re.compile(r"^[A-Za-z0-9_-]{12}$")


def test_the_api_answers_with_an_id_that_finds_the_model_and_the_photo(web, tiny_model):
    sent = photo("cat", 3)
    answer = web.post("/api/v1/predict", json={"image": b64(sent)})
    assert answer.status_code == 200
    body = answer.json
    assert ID.match(body["id"]) and list(body) == ["predictions", "label", "unknown", "id"]

    served = predictions.lookup(body["id"])
    assert served.project is None and served.version is None and served.model_gone is None
    assert served.model_file == tiny_model.absolute()
    assert served.labels == ("bird", "cat", "dog") and served.channel == "api"
    assert [label for label, _ in served.top] == [p["label"] for p in body["predictions"]]
    assert served.label == body["label"]
    assert served.photo.read_bytes() == sent
    assert len(f"fix:{served.id}:bearded_dragon".encode()) <= 64  # fits Telegram callback data


def test_ids_differ_and_one_photo_is_spooled_once(web):
    sent = photo("dog", 1)
    first, second = (web.post("/api/v1/predict", json={"image": b64(sent)}).json for _ in "ab")
    assert first["id"] != second["id"]
    assert predictions.lookup(first["id"]).photo == predictions.lookup(second["id"]).photo


def test_unknown_ids_find_nothing(web):
    assert predictions.lookup("nope") is None
    assert predictions.lookup("x" * 200) is None


def days_later(monkeypatch, days: float) -> None:
    """Move the predictions' clock forward, instead of sleeping past a short expiry (which a
    loaded machine can pass before the first lookup)."""
    later = predictions.now() + timedelta(days=days)
    monkeypatch.setattr(predictions, "now", lambda: later)


def test_an_expired_prediction_is_gone_with_its_photo(web, monkeypatch):
    monkeypatch.setenv("PETCLF_PREDICTION_DAYS", "1")
    kept_id = web.post("/api/v1/predict", json={"image": b64(photo("bird", 2))}).json["id"]
    spooled = predictions.lookup(kept_id).photo
    days_later(monkeypatch, 1.01)
    assert predictions.lookup(kept_id) is None
    with store.session() as db:
        assert predictions.purge(db) == 1
        assert db.get(ServedPrediction, kept_id) is None
    assert not spooled.exists()


def test_a_photo_another_prediction_still_needs_stays_in_the_spool(web, monkeypatch):
    sent = b64(photo("bird", 4))
    monkeypatch.setenv("PETCLF_PREDICTION_DAYS", "1")
    short = web.post("/api/v1/predict", json={"image": sent}).json["id"]
    monkeypatch.setenv("PETCLF_PREDICTION_DAYS", "7")
    long = web.post("/api/v1/predict", json={"image": sent}).json["id"]
    days_later(monkeypatch, 2)
    with store.session() as db:
        predictions.purge(db)
    assert predictions.lookup(short) is None
    assert predictions.lookup(long).photo.is_file()


def test_a_projects_prediction_is_kept_with_its_version(web, home, tiny_model):
    add_version(home, "shapes", tiny_model, 1)
    answer = web.post("/api/v1/projects/shapes/predict", json={"image": b64(photo("cat", 5))})
    served = predictions.lookup(answer.json["id"])
    assert (served.project, served.version, served.model_gone) == ("shapes", 1, None)
    assert served.model_file == home / "projects" / "shapes" / "v1.h5"

    original = web.post("/api/predict", json={"temple_id": "shapes", "image": b64(photo("cat"))})
    assert original.status_code == 200
    with store.session() as db:
        assert db.query(ServedPrediction).count() == 2


def test_a_deleted_version_is_reported_gone(web, home, tiny_model):
    add_version(home, "gone", tiny_model, 1)
    kept_id = web.post("/api/v1/projects/gone/predict", json={"image": b64(photo("dog"))}).json[
        "id"
    ]
    with store.session() as db:
        version = db.query(store.ModelVersion).one()
        db.delete(version)
    served = predictions.lookup(kept_id)
    assert "deleted" in served.model_gone


def test_the_page_keeps_its_prediction(web):
    page = web.post("/", data={"file": (io.BytesIO(photo("cat", 7)), "cat.png")})
    assert page.status_code == 200
    with store.session() as db:
        kept = db.query(ServedPrediction).one()
    assert kept.channel == "page" and kept.label in ("bird", "cat", "dog", "unknown")


def test_serving_sweeps_expired_predictions_in_its_own_transaction(
    web, home, tiny_model, monkeypatch
):
    """The once-a-minute sweep runs inside the serving insert's transaction (a second connection
    would wait for the insert's lock): through the API's bare connection and a project's session."""
    add_version(home, "sweep", tiny_model, 1)
    for where in ("/api/v1/predict", "/api/v1/projects/sweep/predict"):
        monkeypatch.setenv("PETCLF_PREDICTION_DAYS", "1")
        old = web.post(where, json={"image": b64(photo("cat", 11))}).json["id"]
        spooled = predictions.spool_path(predictions.lookup(old).photo_sha256)
        days_later(monkeypatch, 1.01)
        monkeypatch.setenv("PETCLF_PREDICTION_DAYS", "7")
        monkeypatch.setattr(predictions, "_last_purge", 0.0)  # a minute since the last sweep
        started = time.monotonic()
        new = web.post(where, json={"image": b64(photo("dog", 12))}).json["id"]
        assert time.monotonic() - started < 5  # no wait for a lock
        with store.session() as db:
            assert db.get(ServedPrediction, old) is None and db.get(ServedPrediction, new)
        assert not spooled.exists()
