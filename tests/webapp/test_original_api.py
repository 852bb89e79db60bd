"""The original API (/api/save_data, /api/make_model, /api/predict): its keys, its flags, and every
kind of bad input through the Flask test client; then one real run, a client written the original
way against gunicorn and a `petclf worker`, going on with REST v1 on the same project."""

import io
import threading
import time
import zipfile

import pytest
import requests

import store
from projects import service
from projects.predict import ANOMALY
from store import Job, Photo
from tests.projects.helpers import start_worker
from tests.servers import GunicornServer
from tests.webapp.conftest import pixel_bomb, truncated_jpeg
from tests.webapp.project_support import (  # noqa: F401
    ADMIN,
    TOKEN,
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


def save(web, headers=ADMIN, **fields):
    body = {
        "temple_id": "shapes",
        "train_test": "train",
        "category": "cat",
        "image": b64(photo("cat")),
        "image_type": "png",
        "image_name": "cat0",
        **fields,
    }
    return web.post("/api/save_data", json=body, headers=headers)


def fill(web, counts: dict[str, int], test_photos: int = 1) -> None:
    """`count` photos per class into project "shapes", the last `test_photos` of each on the test side."""
    for label, count in counts.items():
        for n in range(count):
            side = "test" if n >= count - test_photos else "train"
            answer = save(
                web,
                category=label,
                image=b64(photo(label, n)),
                image_name=f"{label}{n}",
                train_test=side,
            )
            assert answer.status_code == 200, answer.json


def error_msg(response, status: int):
    assert response.status_code == status, response.get_data(as_text=True)
    assert "error" not in response.json
    return response.json["error_msg"]


def test_save_data_stores_a_photo_and_creates_the_project(web):
    answer = save(web)
    assert (answer.status_code, answer.json) == (200, {"error_msg": "All OK"})
    assert project_names() == ["shapes"]
    with store.session() as db:
        stored = db.query(Photo).one()
        assert (stored.original_name, stored.side, stored.source, stored.photo_class.name) == (
            "cat0.png",
            "train",
            "save_data",
            "cat",
        )
    again = save(web, image_name="copy")
    assert again.json == {"error_msg": "All OK", "duplicate": True}
    assert photo_count() == 1
    assert save(web, category="dog", image=b64(photo("dog")), train_test="test").json == {
        "error_msg": "All OK"
    }
    assert web.get("/api/v1/projects/shapes").json["classes"] == {
        "cat": {"train": 1, "test": 0},
        "dog": {"train": 0, "test": 1},
    }


def test_save_data_to_common_fills_the_shared_pool(web):
    answer = save(
        web, temple_id="common", category="ignored/for the pool", image=b64(photo("bird"))
    )
    assert answer.json == {"error_msg": "All OK"}
    assert web.get("/api/v1/projects/common").json["pool"] == {"train": 1, "test": 0}
    assert project_names() == ["common"]


@pytest.mark.parametrize(
    "fields, headers, status, words",
    [
        ({}, {}, 401, "admin token"),
        ({}, WRONG, 401, "admin token"),
        ({"image": "%%% not base64"}, ADMIN, 400, "base64"),
        ({"image": None}, ADMIN, 400, "base64"),
        ({"image": b64(b"hello, this is not a photo\n")}, ADMIN, 415, "plain text"),
        ({"image": b64(pixel_bomb())}, ADMIN, 422, "megapixels"),
        ({"image": b64(truncated_jpeg())}, ADMIN, 422, "damaged"),
        ({"train_test": "validation"}, ADMIN, 422, "'train' or 'test'"),
        ({"category": ""}, ADMIN, 422, "empty"),
        ({"category": "c" * 65}, ADMIN, 422, "limit is 64"),
        ({"category": "cats/dogs"}, ADMIN, 422, "can't contain"),
        ({"category": "cats\\dogs"}, ADMIN, 422, "can't contain"),
        ({"category": ".."}, ADMIN, 422, "can't contain"),
        ({"temple_id": ""}, ADMIN, 422, "temple_id"),
        ({"temple_id": "a/b"}, ADMIN, 422, "can't contain"),
        ({"image": b64(bytes(2 * 1024 * 1024))}, ADMIN, 413, "limit"),
    ],
)
def test_save_data_refuses_bad_input_and_stores_nothing(web, fields, headers, status, words):
    message = error_msg(save(web, headers=headers, **fields), status)
    assert isinstance(message, str) and words in message
    assert project_names() == [] and photo_count() == 0


def test_save_data_needs_a_json_object(web):
    assert "JSON" in error_msg(
        web.post("/api/save_data", data="temple_id=x", content_type="text/plain", headers=ADMIN),
        415,
    )
    assert "JSON" in error_msg(
        web.post("/api/save_data", data="[1, 2]", content_type="application/json", headers=ADMIN),
        400,
    )


def test_concurrent_first_saves_of_the_same_photo_make_one_project_and_one_photo(home, tiny_model):
    app = create_app(model=tiny_model, max_upload_mb=1)
    start = threading.Barrier(6)
    answers = []

    def send():
        client = app.test_client()
        start.wait()
        answers.append(save(client, temple_id="new"))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200] * 6
    assert sorted(answer.json.get("duplicate", False) for answer in answers) == [False] + [True] * 5
    assert project_names() == ["new"] and photo_count() == 1


def test_make_model_refuses_what_cannot_train(web):
    assert error_msg(
        web.post("/api/make_model", json={"temple_id": "shapes"}, headers=ADMIN), 404
    ) == ["There is no project named shapes."]
    fill(web, {"cat": 6})
    assert (
        "at least 2 classes"
        in error_msg(web.post("/api/make_model", json={"temple_id": "shapes"}, headers=ADMIN), 422)[
            0
        ]
    )
    fill(web, {"dog": 4})
    assert (
        "dog"
        in error_msg(web.post("/api/make_model", json={"temple_id": "shapes"}, headers=ADMIN), 422)[
            0
        ]
    )
    for bad in (
        {"forceful": "false"},
        {"forceful": 0},
        {"async": "yes"},
        {"timeout": 0},
        {"timeout": 3601},
        {"timeout": "long"},
    ):
        assert error_msg(
            web.post("/api/make_model", json={"temple_id": "shapes", **bad}, headers=ADMIN), 422
        )
    assert (
        "admin token"
        in error_msg(web.post("/api/make_model", json={"temple_id": "shapes"}), 401)[0]
    )
    with store.session() as db:
        assert db.query(Job).count() == 0


def test_make_model_async_queues_a_job_and_a_second_request_conflicts(web):
    fill(web, {"cat": 5, "dog": 5})
    queued = web.post(
        "/api/make_model",
        json={"temple_id": "shapes", "forceful": False, "async": True},
        headers=ADMIN,
    )
    assert queued.status_code == 202
    job_id = queued.json["job_id"]
    with store.session() as db:
        assert db.get(Job, job_id).state == "queued"
    busy = web.post(
        "/api/make_model", json={"temple_id": "shapes", "forceful": True}, headers=ADMIN
    )
    assert job_id in error_msg(busy, 409)[0] and busy.json["job_id"] == job_id


def test_make_model_waits_by_polling_the_store(web):
    fill(web, {"cat": 5, "dog": 5}, test_photos=0)
    still = web.post("/api/make_model", json={"temple_id": "shapes", "timeout": 0.5}, headers=ADMIN)
    assert still.status_code == 202  # no worker here: the job is still queued when the wait ends
    assert {key: value for key, value in still.json.items() if key.endswith("_flag")} == {
        "got_training_data_flag": True,
        "got_testing_data_flag": False,
        "made_model_architecture_flag": False,
        "trained_model_flag": False,
        "tested_model_flag": False,
        "saved_model_flag": False,
    }
    assert "Still training" in still.json["error_msg"][0] and still.json["version"] is None
    web.delete(f"/api/v1/jobs/{still.json['job_id']}", headers=ADMIN)

    answers = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            web.application.test_client().post(
                "/api/make_model", json={"temple_id": "shapes", "timeout": 120}, headers=ADMIN
            )
        )
    )
    waiting.start()
    job_id = wait_for_queued_job("shapes")
    # the store changes; the waiting request sees it
    web.delete(f"/api/v1/jobs/{job_id}", headers=ADMIN)
    waiting.join()
    assert answers[0].status_code == 200
    assert answers[0].json["trained_model_flag"] is False and answers[0].json["error_msg"] == [
        "Cancelled before it started."
    ]


def wait_for_queued_job(name: str) -> str:
    while True:
        with store.session() as db:
            job = service.active_job(db, service.get(db, name))
            if job is not None:
                return job.id
        time.sleep(0.05)


def test_make_model_with_a_model_and_forceful_false_gets_400(web, home, tiny_model):
    fill(web, {"cat": 5, "dog": 5})
    add_version(home, "shapes", tiny_model, 1)
    assert (
        "forceful"
        in error_msg(
            web.post(
                "/api/make_model", json={"temple_id": "shapes", "forceful": False}, headers=ADMIN
            ),
            400,
        )[0]
    )
    # forceful defaults to false
    assert error_msg(web.post("/api/make_model", json={"temple_id": "shapes"}, headers=ADMIN), 400)
    assert (
        web.post(
            "/api/make_model",
            json={"temple_id": "shapes", "forceful": True, "async": True},
            headers=ADMIN,
        ).status_code
        == 202
    )


def test_predict_answers_each_image_and_names_the_ones_it_could_not_read(web, home, tiny_model):
    add_version(home, "pets", tiny_model, 1)
    images = [photo("bird"), "%%%", b64(b"words\n"), photo("cat", 2)]
    answer = web.post(
        "/api/predict",
        json={
            "temple_id": "pets",
            "image": [b64(i) if isinstance(i, bytes) else i for i in images],
            "image_name": ["b.png", "broken.png", "words.png", "c.png"],
            "image_type": "png",
        },
    )
    assert answer.status_code == 200
    body = answer.json
    assert list(body) == ["error_msg", "image_class", "class_confidence", "prediction_id"]
    assert body["prediction_id"][1:3] == [None, None]  # the others: ids for corrections
    assert all(len(body["prediction_id"][index]) == 12 for index in (0, 3))
    assert [message.split(":")[0] for message in body["error_msg"]] == ["broken.png", "words.png"]
    assert "base64" in body["error_msg"][0] and "plain text" in body["error_msg"][1]
    assert body["image_class"][1:3] == [None, None] and body["class_confidence"][1:3] == [
        None,
        None,
    ]
    for index in (0, 3):
        rest = web.post("/api/v1/projects/pets/predict", json={"image": b64(images[index])}).json
        assert body["image_class"][index] == (
            ANOMALY if rest["unknown"] else rest["predictions"][0]["label"]
        )
        assert body["class_confidence"][index] == rest["predictions"][0]["proba"]
    assert body["image_class"][0] == "bird"
    single = web.post("/api/predict", json={"temple_id": "pets", "image": b64(photo("bird"))}).json
    assert single.pop("prediction_id") != body["prediction_id"][:1]  # a new id for each
    assert single == {
        "error_msg": [],
        "image_class": ["bird"],
        "class_confidence": [body["class_confidence"][0]],
    }


def test_predict_says_anomaly_when_the_unknown_rule_rejects(web, home, unknown_model):
    add_version(home, "anomalous", unknown_model, 1)
    answer = web.post(
        "/api/predict",
        json={"temple_id": "anomalous", "image": [b64(photo("bird")), b64(photo("cat"))]},
    ).json
    assert answer["image_class"] == [ANOMALY, ANOMALY] and answer["error_msg"] == []


def test_predict_bad_input(web, home, tiny_model):
    add_version(home, "pets", tiny_model, 1)
    assert (
        "base64"
        in error_msg(web.post("/api/predict", json={"temple_id": "pets", "image": "%%%"}), 400)[0]
    )
    assert (
        "plain text"
        in error_msg(
            web.post("/api/predict", json={"temple_id": "pets", "image": b64(b"words\n")}), 415
        )[0]
    )
    assert (
        "megapixels"
        in error_msg(
            web.post("/api/predict", json={"temple_id": "pets", "image": b64(pixel_bomb())}), 422
        )[0]
    )
    assert error_msg(web.post("/api/predict", json={"temple_id": "pets", "image": []}), 400)
    assert error_msg(web.post("/api/predict", json={"temple_id": "pets"}), 400)
    assert error_msg(
        web.post("/api/predict", json={"temple_id": "pets", "image": b64(bytes(2 * 1024 * 1024))}),
        413,
    )
    assert error_msg(
        web.post("/api/predict", json={"temple_id": "zoo", "image": b64(photo("cat"))}), 404
    )
    save(web, temple_id="untrained")
    assert (
        "train it first"
        in error_msg(
            web.post("/api/predict", json={"temple_id": "untrained", "image": b64(photo("cat"))}),
            409,
        )[0]
    )


def test_the_original_client_then_rest_v1_against_gunicorn_and_a_worker(
    petclf_home, base_model, tmp_path, monkeypatch
):
    monkeypatch.setenv("PETCLF_ADMIN_TOKEN", TOKEN)
    with (
        GunicornServer(base_model, tmp_path, workers=1, threads=4) as server,
        start_worker(petclf_home),
    ):
        url = server.url

        def post(path: str, body: dict, timeout: float = 60) -> requests.Response:
            return requests.post(url + path, json=body, headers=ADMIN, timeout=timeout)

        for label in ("cat", "dog"):  # the original client: base64 in JSON, one photo per request
            for n in range(6):
                saved = post(
                    "/api/save_data",
                    {
                        "temple_id": "shapes",
                        "train_test": "test" if n >= 4 else "train",
                        "category": label,
                        "image": b64(photo(label, n)),
                        "image_type": "png",
                        "image_name": f"{label}{n}",
                    },
                )
                assert (saved.status_code, saved.json()["error_msg"]) == (200, "All OK")

        made = post(
            "/api/make_model",
            {"temple_id": "shapes", "forceful": False, "timeout": 1800},
            timeout=1900,
        )
        assert made.status_code == 200, made.text
        report = made.json()
        assert all(report[flag] for flag in report if flag.endswith("_flag")), report
        assert (report["error_msg"], report["version"]) == ([], 1)

        labels = ["cat", "dog", "cat", "dog"]
        images = [b64(photo(label, 100 + n)) for n, label in enumerate(labels)]
        predicted = post(
            "/api/predict",
            {"temple_id": "shapes", "image": images, "image_name": [f"p{n}" for n in range(4)]},
        ).json()
        assert predicted["error_msg"] == []
        assert [
            answer in (label, ANOMALY) for answer, label in zip(predicted["image_class"], labels)
        ] == [True] * 4
        # the classes are drawn plainly
        assert predicted["image_class"].count(ANOMALY) <= 1, predicted
        rest = requests.post(
            f"{url}/api/v1/projects/shapes/predict", json={"images": images}, timeout=60
        ).json()["results"]
        assert [result["predictions"][0]["label"] for result in rest] == labels

        versions = requests.get(f"{url}/api/v1/projects/shapes/versions", timeout=10).json()
        assert versions["active"] == 1 and versions["versions"][0]["labels"] == ["cat", "dog"]
        assert versions["versions"][0]["test_images"] == 4
        matrix = requests.get(
            f"{url}/api/v1/projects/shapes/versions/1/confusion_matrix.png", timeout=10
        )
        assert matrix.headers["Content-Type"] == "image/png"
        exported = requests.get(f"{url}/api/v1/projects/shapes/export", headers=ADMIN, timeout=60)
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            assert set(archive.namelist()) == {"v1.h5", "v1.json", "v1.tflite", "labels.txt"}
            assert archive.read("labels.txt") == b"cat\ndog\n"
        events = [
            line["event"]
            for line in requests.get(f"{url}/api/v1/projects/shapes/log", timeout=10).json()["log"]
        ]
        assert events[:2] == ["created", "train_requested"] and "version_activated" in events
        activated = requests.post(
            f"{url}/api/v1/projects/shapes/versions/1/activate", headers=ADMIN, timeout=10
        )
        assert (activated.status_code, activated.json()["active"]) == (200, True)

        # A second training, stopped while it runs: the first version keeps serving.
        job = requests.post(
            f"{url}/api/v1/projects/shapes/train",
            json={"forceful": True},
            headers=ADMIN,
            timeout=10,
        ).json()["job"]
        while (
            requests.get(f"{url}/api/v1/jobs/{job['id']}", timeout=10).json()["state"] == "queued"
        ):
            time.sleep(0.2)
        stopped = requests.delete(f"{url}/api/v1/jobs/{job['id']}", headers=ADMIN, timeout=30)
        assert (stopped.status_code, stopped.json()["state"]) == (200, "cancelled"), stopped.text
        assert (
            requests.get(f"{url}/api/v1/projects/shapes/versions", timeout=10).json()["active"] == 1
        )
        again = post("/api/predict", {"temple_id": "shapes", "image": images})
        assert again.json()["image_class"] == predicted["image_class"]
