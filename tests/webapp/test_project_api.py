"""REST v1 for projects through the Flask test client, on a fresh store per test: every route and
every kind of bad input. A training request is checked by its queued job row (no worker here);
tests/webapp/test_original_api.py trains for real."""

import io
import threading
import zipfile

import pytest

import store
from projects import service
from store import Job
from tests.servers import free_port
from tests.webapp.conftest import pixel_bomb, truncated_jpeg
from tests.webapp.project_support import (  # noqa: F401
    ADMIN,
    WRONG,
    add_version,
    b64,
    home,
    photo,
    photo_count,
    project_names,
    web,
)
from webapp import create_app

BAD_CLASS_NAMES = ["", "   ", "x" * 65, "cats/dogs", "cats\\dogs", "..", "a..b"]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] and len(error["message"]) > 10
    return error


def upload(web, name: str, label: str, files: list[tuple[str, bytes]], headers=ADMIN, **fields):
    data = {
        "class": label,
        **fields,
        "file": [(io.BytesIO(content), filename) for filename, content in files],
    }
    return web.post(f"/api/v1/projects/{name}/photos", data=data, headers=headers)


def shapes(web, name: str, counts: dict[str, int]) -> None:
    for label, count in counts.items():
        files = [(f"{label}{n}.png", photo(label, n)) for n in range(count)]
        assert upload(web, name, label, files).status_code == 200


def test_create_list_get_and_delete_a_project(web):
    created = web.post(
        "/api/v1/projects", json={"name": "pets", "classes": ["cat", "dog"]}, headers=ADMIN
    )
    assert created.status_code == 201
    assert created.json["name"] == "pets"
    assert created.json["classes"] == {
        "cat": {"train": 0, "test": 0},
        "dog": {"train": 0, "test": 0},
    }
    assert created.json["active_version"] is None and created.json["job"] is None
    assert [project["name"] for project in web.get("/api/v1/projects").json["projects"]] == ["pets"]
    shown = web.get("/api/v1/projects/pets").json
    assert shown["pool"] == {"train": 0, "test": 0}
    assert any("at least 5" in warning for warning in shown["warnings"])
    assert web.delete("/api/v1/projects/pets", headers=ADMIN).status_code == 204
    error_of(web.get("/api/v1/projects/pets"), 404)
    assert web.get("/api/v1/projects").json == {"projects": []}


def test_project_creation_refuses_bad_input_and_stores_nothing(web):
    error_of(web.post("/api/v1/projects", json={"name": "pets"}), 401)
    error_of(web.post("/api/v1/projects", json={"name": "pets"}, headers=WRONG), 401)
    for name in BAD_CLASS_NAMES + [None, 7]:
        error_of(web.post("/api/v1/projects", json={"name": name}, headers=ADMIN), 422)
    for label in BAD_CLASS_NAMES:
        message = error_of(
            web.post(
                "/api/v1/projects", json={"name": "pets", "classes": ["cat", label]}, headers=ADMIN
            ),
            422,
        )["message"]
        assert "class name" in message
    error_of(
        web.post("/api/v1/projects", json={"name": "pets", "classes": "cat"}, headers=ADMIN), 422
    )
    assert (
        "common"
        in error_of(web.post("/api/v1/projects", json={"name": "common"}, headers=ADMIN), 422)[
            "message"
        ]
    )
    error_of(
        web.post("/api/v1/projects", data="name=pets", headers=ADMIN, content_type="text/plain"),
        415,
    )
    error_of(
        web.post(
            "/api/v1/projects", data="{not json", headers=ADMIN, content_type="application/json"
        ),
        400,
    )
    assert project_names() == []
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    error_of(web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN), 409)


def test_photos_by_multipart_and_by_json(web):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    cat = photo("cat")
    answer = upload(
        web,
        "pets",
        "cat",
        [("a.png", cat), ("b.png", photo("cat", 1)), ("notes.txt", b"just words\n")],
    ).json
    assert answer["summary"] == {"stored": 2, "duplicate": 0, "rejected": 1}
    assert [result["status"] for result in answer["results"]] == ["stored", "stored", "rejected"]
    assert "plain text" in answer["results"][2]["reason"]
    assert sum(answer["counts"]["cat"].values()) == 2

    again = web.post(
        "/api/v1/projects/pets/photos",
        headers=ADMIN,
        json={
            "class": "dog",
            "side": "test",
            "images": [
                {"name": "d.png", "image": b64(photo("dog"))},
                {"name": "a-again.png", "image": b64(cat)},
            ],
        },
    ).json
    # a photo sits in one class
    assert [result["status"] for result in again["results"]] == [
        "stored",
        "duplicate",
    ]
    assert again["results"][0]["side"] == "test"
    assert again["counts"]["dog"] == {"train": 0, "test": 1}


def test_photo_listing_image_and_delete(web):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    cat, dog = photo("cat"), photo("dog")
    upload(web, "pets", "cat", [("a.png", cat)], side="train")
    upload(web, "pets", "dog", [("d.png", dog)], side="test")
    listed = web.get("/api/v1/projects/pets/photos").json
    assert [(p["name"], p["class"], p["side"], p["source"]) for p in listed["photos"]] == [
        ("a.png", "cat", "train", "upload"),
        ("d.png", "dog", "test", "upload"),
    ]
    assert listed["counts"] == {"cat": {"train": 1, "test": 0}, "dog": {"train": 0, "test": 1}}
    assert [
        p["name"] for p in web.get("/api/v1/projects/pets/photos?class=dog").json["photos"]
    ] == ["d.png"]
    assert [
        p["name"] for p in web.get("/api/v1/projects/pets/photos?side=train").json["photos"]
    ] == ["a.png"]
    assert web.get("/api/v1/projects/pets/photos?class=bird").json["photos"] == []
    error_of(web.get("/api/v1/projects/pets/photos?side=validation"), 422)

    photo_id = listed["photos"][0]["id"]
    image = web.get(f"/api/v1/projects/pets/photos/{photo_id}/image", headers=ADMIN)
    assert (image.status_code, image.mimetype, image.data) == (200, "image/png", cat)
    error_of(web.get(f"/api/v1/projects/pets/photos/{photo_id}/image"), 401)
    error_of(web.delete(f"/api/v1/projects/pets/photos/{photo_id}"), 401)
    assert web.delete(f"/api/v1/projects/pets/photos/{photo_id}", headers=ADMIN).status_code == 204
    error_of(web.get(f"/api/v1/projects/pets/photos/{photo_id}/image", headers=ADMIN), 404)
    error_of(web.delete(f"/api/v1/projects/pets/photos/{photo_id}", headers=ADMIN), 404)
    assert web.get("/api/v1/projects/pets/photos").json["counts"]["cat"] == {"train": 0, "test": 0}


def test_a_duplicate_is_stored_once_and_said_so(web):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    upload(web, "pets", "cat", [("a.png", photo("cat"))])
    answer = upload(
        web, "pets", "cat", [("copy.png", photo("cat")), ("copy2.png", photo("cat"))]
    ).json
    assert answer["summary"] == {"stored": 0, "duplicate": 2, "rejected": 0}
    assert "a.png" in answer["results"][0]["reason"]
    assert photo_count() == 1


@pytest.mark.parametrize(
    "files, status, code, words",
    [
        (
            [("a.txt", b"hello, not a photo\n"), ("b.html", b"<!doctype html><html></html>")],
            415,
            "unsupported_image",
            "plain text",
        ),
        ([("bomb.png", pixel_bomb())], 422, "too_many_pixels", "megapixels"),
        ([("cut.jpg", truncated_jpeg())], 422, "corrupt_image", "damaged"),
        ([("empty.jpg", b"")], 415, "unsupported_image", "empty"),
        ([("a.txt", b"hello\n"), ("bomb.png", pixel_bomb())], 422, "rejected", "plain text"),
    ],
)
def test_an_upload_whose_every_photo_is_refused_stores_nothing(web, files, status, code, words):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    response = upload(web, "pets", "cat", files)
    error = error_of(response, status)
    assert error["code"] == code and words in error["message"]
    assert [result["status"] for result in response.json["results"]] == ["rejected"] * len(files)
    assert web.get("/api/v1/projects/pets").json["classes"] == {}  # not even the class was made
    assert photo_count() == 0


def test_bad_uploads_get_their_status(web):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    good = [("a.png", photo("cat"))]
    error_of(upload(web, "pets", "cat", good, headers={}), 401)
    error_of(upload(web, "pets", "cat", good, headers=WRONG), 401)
    error_of(upload(web, "zoo", "cat", good), 404)
    for label in BAD_CLASS_NAMES:
        assert "class name" in error_of(upload(web, "pets", label, good), 422)["message"]
    error_of(upload(web, "pets", "cat", good, side="validation"), 422)
    error_of(web.post("/api/v1/projects/pets/photos", data={"class": "cat"}, headers=ADMIN), 400)
    broken = web.post(
        "/api/v1/projects/pets/photos",
        json={"class": "cat", "images": [{"name": "x.png", "image": "%%%"}]},
        headers=ADMIN,
    )
    assert error_of(broken, 400)["code"] == "invalid_base64"
    error_of(
        web.post(
            "/api/v1/projects/pets/photos", json={"class": "cat", "images": "x"}, headers=ADMIN
        ),
        400,
    )
    error_of(
        web.post(
            "/api/v1/projects/pets/photos", json={"class": "cat", "images": ["x"]}, headers=ADMIN
        ),
        400,
    )
    too_big = upload(web, "pets", "cat", [("big.png", bytes(2 * 1024 * 1024))])
    assert error_of(too_big, 413)["code"] == "upload_too_large"
    assert photo_count() == 0 and web.get("/api/v1/projects/pets").json["classes"] == {}


def test_two_concurrent_uploads_of_the_same_photo_store_it_once(home, tiny_model):
    app = create_app(model=tiny_model, max_upload_mb=1)
    app.test_client().post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    same = photo("cat", 7)
    start = threading.Barrier(6)
    answers = []

    def send():
        client = app.test_client()
        start.wait()
        answers.append(upload(client, "pets", "cat", [("same.png", same)]))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200] * 6
    statuses = sorted(answer.json["results"][0]["status"] for answer in answers)
    assert statuses == ["duplicate"] * 5 + ["stored"]
    assert photo_count() == 1


def test_training_requests_queue_a_job_and_refuse_what_cannot_train(web):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    shapes(web, "pets", {"cat": 6})
    error = error_of(web.post("/api/v1/projects/pets/train", headers=ADMIN), 422)
    assert "at least 2 classes" in error["message"]
    shapes(web, "pets", {"dog": 4})
    assert "dog" in error_of(web.post("/api/v1/projects/pets/train", headers=ADMIN), 422)["message"]
    shapes(web, "pets", {"dog": 6})
    error_of(web.post("/api/v1/projects/pets/train", json={"forceful": "yes"}, headers=ADMIN), 422)
    error_of(web.post("/api/v1/projects/pets/train"), 401)
    error_of(web.post("/api/v1/projects/zoo/train", headers=ADMIN), 404)

    queued = web.post("/api/v1/projects/pets/train", headers=ADMIN)
    assert queued.status_code == 202
    job = queued.json["job"]
    assert job["state"] == "queued"
    with store.session() as db:
        assert db.get(Job, job["id"]).state == "queued"
    busy = web.post("/api/v1/projects/pets/train", json={"forceful": True}, headers=ADMIN)
    assert error_of(busy, 409) and busy.json["job_id"] == job["id"]
    in_the_way = web.delete("/api/v1/projects/pets", headers=ADMIN)
    assert error_of(in_the_way, 409) and in_the_way.json["job_id"] == job["id"]
    assert web.get(f"/api/v1/jobs/{job['id']}").json["state"] == "queued"
    assert web.get("/api/v1/projects/pets").json["job"]["id"] == job["id"]

    error_of(web.delete(f"/api/v1/jobs/{job['id']}"), 401)
    cancelled = web.delete(f"/api/v1/jobs/{job['id']}", headers=ADMIN)
    assert (cancelled.status_code, cancelled.json["state"]) == (200, "cancelled")
    assert web.post("/api/v1/projects/pets/train", headers=ADMIN).status_code == 202  # free again
    error_of(web.get("/api/v1/jobs/nosuchjob"), 404)


def test_an_unreachable_queue_fails_the_job_instead_of_blocking_the_project(web, monkeypatch):
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    shapes(web, "pets", {"cat": 5, "dog": 5})
    # nothing listens there
    monkeypatch.setenv("PETCLF_QUEUE_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert (
        error_of(web.post("/api/v1/projects/pets/train", headers=ADMIN), 503)["code"]
        == "queue_unavailable"
    )
    with store.session() as db:
        assert service.active_job(db, service.get(db, "pets")) is None


@pytest.fixture
def served(home, web, tiny_model, unknown_model):
    """Project "pets" serving the tiny model as v1, with v2 a copy whose threshold nothing reaches."""
    add_version(home, "pets", tiny_model, 1)
    add_version(home, "pets", unknown_model, 2)
    web.post("/api/v1/projects/pets/versions/1/activate", headers=ADMIN)
    return web


def predicted(web, data: bytes) -> dict:
    return without_id(web.post("/api/v1/projects/pets/predict", json={"image": b64(data)}).json)


def without_id(answer: dict) -> dict:
    """The prediction JSON without its id, which differs for every prediction served."""
    assert "error" in answer or len(answer.pop("id")) == 12
    return answer


def test_versions_activate_and_predict(served):
    web = served
    listed = web.get("/api/v1/projects/pets/versions").json
    assert listed["active"] == 1
    assert [(v["number"], v["active"], v["labels"]) for v in listed["versions"]] == [
        (1, True, ["bird", "cat", "dog"]),
        (2, False, ["bird", "cat", "dog"]),
    ]
    assert listed["versions"][0]["accuracy"] is not None

    bird = predicted(web, photo("bird"))
    assert list(bird) == ["predictions", "label", "unknown"] and bird["label"] == "bird"
    by_form = web.post(
        "/api/v1/projects/pets/predict", data={"file": (io.BytesIO(photo("bird")), "b.png")}
    )
    assert (by_form.status_code, without_id(by_form.json)) == (200, bird)

    images = [photo("dog", 1), "%%%", b64(b"words\n"), photo("cat", 2)]
    several = web.post(
        "/api/v1/projects/pets/predict",
        json={"images": [b64(i) if isinstance(i, bytes) else i for i in images]},
    ).json
    first, broken, text, last = map(without_id, several["results"])
    assert first == predicted(web, images[0]) and last == predicted(web, images[3])
    assert (
        broken["error"]["code"] == "invalid_base64" and text["error"]["code"] == "unsupported_image"
    )
    files = {"file": [(io.BytesIO(photo("dog", 1)), "a.png"), (io.BytesIO(photo("bird")), "b.png")]}
    answers = web.post("/api/v1/projects/pets/predict", data=files).json["results"]
    assert [without_id(answer) for answer in answers] == [first, bird]

    error_of(web.post("/api/v1/projects/pets/versions/2/activate"), 401)
    activated = web.post("/api/v1/projects/pets/versions/2/activate", headers=ADMIN)
    assert (activated.status_code, activated.json["number"], activated.json["active"]) == (
        200,
        2,
        True,
    )
    # same weights, v2's threshold
    assert predicted(web, photo("bird")) == {
        **bird,
        "label": "unknown",
        "unknown": True,
    }
    web.post("/api/v1/projects/pets/versions/1/activate", headers=ADMIN)  # rollback
    assert predicted(web, photo("bird")) == bird
    error_of(web.post("/api/v1/projects/pets/versions/9/activate", headers=ADMIN), 404)


def test_bad_predictions_get_their_status(served):
    web = served
    assert (
        error_of(web.post("/api/v1/projects/pets/predict", json={"image": "%%%"}), 400)["code"]
        == "invalid_base64"
    )
    assert (
        error_of(web.post("/api/v1/projects/pets/predict", json={"image": b64(b"words\n")}), 415)[
            "code"
        ]
        == "unsupported_image"
    )
    assert (
        error_of(web.post("/api/v1/projects/pets/predict", json={"image": b64(pixel_bomb())}), 422)[
            "code"
        ]
        == "too_many_pixels"
    )
    error_of(web.post("/api/v1/projects/pets/predict", json={"images": []}), 400)
    error_of(web.post("/api/v1/projects/pets/predict", json={"picture": "x"}), 400)
    error_of(web.post("/api/v1/projects/pets/predict", data="x", content_type="text/plain"), 415)
    error_of(
        web.post("/api/v1/projects/pets/predict", json={"image": b64(bytes(2 * 1024 * 1024))}), 413
    )
    error_of(web.post("/api/v1/projects/zoo/predict", json={"image": b64(photo("cat"))}), 404)
    web.post("/api/v1/projects", json={"name": "untrained"}, headers=ADMIN)
    assert (
        "train it first"
        in error_of(
            web.post("/api/v1/projects/untrained/predict", json={"image": b64(photo("cat"))}), 409
        )["message"]
    )


def test_confusion_matrix_export_and_log(served):
    web = served
    picture = web.get("/api/v1/projects/pets/versions/1/confusion_matrix.png")
    assert (picture.status_code, picture.mimetype, picture.data[:8]) == (
        200,
        "image/png",
        b"\x89PNG\r\n\x1a\n",
    )
    assert (
        "confusion matrix"
        in error_of(web.get("/api/v1/projects/pets/versions/2/confusion_matrix.png"), 404)[
            "message"
        ]
    )
    error_of(web.get("/api/v1/projects/pets/versions/7/confusion_matrix.png"), 404)

    error_of(web.get("/api/v1/projects/pets/export"), 401)
    exported = web.get("/api/v1/projects/pets/export", headers=ADMIN)
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert exported.headers["Content-Disposition"] == "attachment; filename=pets-v1.zip"
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        assert {"v1.h5", "v1.json", "labels.txt"} <= set(archive.namelist())
        assert archive.read("labels.txt").decode().split() == ["bird", "cat", "dog"]
    second = web.get("/api/v1/projects/pets/export?version=2", headers=ADMIN)
    assert second.headers["Content-Disposition"] == "attachment; filename=pets-v2.zip"
    error_of(web.get("/api/v1/projects/pets/export?version=two", headers=ADMIN), 422)
    error_of(web.get("/api/v1/projects/pets/export?version=9", headers=ADMIN), 404)
    web.post("/api/v1/projects", json={"name": "untrained"}, headers=ADMIN)
    error_of(web.get("/api/v1/projects/untrained/export", headers=ADMIN), 409)

    log = web.get("/api/v1/projects/pets/log").json
    assert log["status"]["name"] == "pets" and log["status"]["active_version"] == 1
    assert [line["event"] for line in log["log"]] == ["created", "activated"]
    assert set(log["log"][0]) == {"at", "level", "event", "message", "job_id"}
    error_of(web.get("/api/v1/projects/zoo/log"), 404)


def test_the_common_pool(web):
    added = web.post(
        "/api/v1/projects/common/photos",
        headers=ADMIN,
        data={"file": [(io.BytesIO(photo("bird", 9)), "b.png")]},
    )
    assert added.json["summary"]["stored"] == 1
    web.post("/api/v1/projects", json={"name": "pets"}, headers=ADMIN)
    assert sum(web.get("/api/v1/projects/pets").json["pool"].values()) == 1
    # the pool is not a project in the list
    assert web.get("/api/v1/projects").json["projects"][0]["name"] == "pets"
    assert len(web.get("/api/v1/projects").json["projects"]) == 1
    error_of(web.delete("/api/v1/projects/common", headers=ADMIN), 422)
    error_of(web.post("/api/v1/projects/common/train", headers=ADMIN), 422)
