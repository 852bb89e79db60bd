"""REST v1 of the photo library through the Flask test client, on a fresh store: uploads (each file's
outcome, a large upload queued and run by a real worker), the filters (the CLI's names) and their
bad values, one photo, its pictures, the map's points, the stats and the report."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from library import QUEUE_FROM_FILES
from store import Job, photo_path, session
from tests.projects.helpers import start_worker, wait_for_job
from tests.webapp.conftest import truncated_jpeg
from tests.webapp.library_support import (  # noqa: F401
    ADMIN,
    PARIS,
    SHOTS,
    add_shots,
    files,
    gps_of,
    library_home,
    web,
)

WORKER_TIMEOUT_S = 600  # a shared 2-core machine; nothing here measures speed


@pytest.fixture
def shots(web) -> dict[str, dict]:
    return add_shots(web)


def names(answer) -> list[str]:
    assert answer.status_code == 200, answer.json
    return [photo["name"] for photo in answer.json["photos"]]


def test_an_upload_answers_each_file_and_keeps_what_it_read(web):
    good = SHOTS[1].data(seed=1)
    answer = web.post(
        "/api/v1/library/photos",
        headers=ADMIN,
        data={
            "file": files(
                {
                    "paris.jpg": good,
                    "cut.jpg": truncated_jpeg(),
                    "notes.jpg": b"not a photo at all\n",
                }
            )
        },
    )
    assert answer.status_code == 200
    statuses = {result["name"]: result["status"] for result in answer.json["results"]}
    assert statuses == {"paris.jpg": "added", "cut.jpg": "damaged", "notes.jpg": "damaged"}
    reasons = {result["name"]: result.get("reason", "") for result in answer.json["results"]}
    assert "damaged" in reasons["cut.jpg"] and "text" in reasons["notes.jpg"]
    assert answer.json["summary"] == {
        "added": 1,
        "near_duplicate": 0,
        "duplicate": 0,
        "damaged": 2,
        "skipped": 0,
    }

    again = web.post(
        "/api/v1/library/photos", headers=ADMIN, data={"file": files({"copy.jpg": good})}
    )
    assert again.status_code == 200
    assert again.json["results"][0]["status"] == "duplicate"
    assert web.get("/api/v1/library/photos").json["total"] == 1


def test_an_upload_of_nothing_usable_is_refused_with_each_reason(web):
    answer = web.post(
        "/api/v1/library/photos", headers=ADMIN, data={"file": files({"notes.jpg": b"hello\n"})}
    )
    assert answer.status_code == 422
    assert (
        answer.json["error"]["code"] == "rejected"
        and "notes.jpg" in answer.json["error"]["message"]
    )
    assert answer.json["results"][0]["status"] == "damaged"


@pytest.mark.parametrize(
    "headers, data, content_type, status, code",
    [
        ({}, {"file": None}, None, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong"}, {"file": None}, None, 401, "unauthorized"),
        (ADMIN, {"shared": "true"}, None, 400, "no_file"),
        (ADMIN, None, None, 400, "no_file"),
        (ADMIN, {"file": None, "shared": "perhaps"}, None, 400, "invalid_shared"),
        (ADMIN, '{"image": "abc"}', "application/json", 415, "unsupported_media_type"),
    ],
)
def test_bad_uploads_are_refused_and_add_nothing(web, headers, data, content_type, status, code):
    if isinstance(data, dict) and "file" in data:
        data["file"] = files({"paris.jpg": SHOTS[1].data(seed=1)})
    answer = web.post(
        "/api/v1/library/photos", headers=headers, data=data, content_type=content_type
    )
    assert answer.status_code == status
    assert answer.json["error"]["code"] == code
    assert web.get("/api/v1/library/photos").json["total"] == 0


def test_photos_come_in_time_order_a_page_at_a_time(web, shots):
    everything = web.get("/api/v1/library/photos").json
    assert everything["total"] == len(SHOTS) and everything["pages"] == 1
    assert [photo["name"] for photo in everything["photos"]] == [shot.name for shot in SHOTS]
    second = web.get("/api/v1/library/photos?per_page=4&page=2").json
    assert (second["total"], second["page"], second["per_page"], second["pages"]) == (
        len(SHOTS),
        2,
        4,
        2,
    )
    assert [photo["name"] for photo in second["photos"]] == [shot.name for shot in SHOTS[4:]]
    photo = second["photos"][0]
    assert photo["thumbnail"] == f"/api/v1/library/photos/{photo['id']}/thumbnail"
    assert photo["page"] == f"/library/photos/{photo['id']}"


def test_the_filters_are_the_clis(web, shots):
    label_of = {name: photo["label"] for name, photo in shots.items()}
    some_label = label_of["paris.jpg"]
    wanted = [name for name in label_of if label_of[name] == some_label]
    assert names(web.get(f"/api/v1/library/photos?class={some_label}")) == wanted
    two = sorted({label_of["paris.jpg"], label_of["buenos-aires.jpg"]})
    assert names(web.get(f"/api/v1/library/photos?class={two[0]}&class={two[-1]}")) == [
        name for name in label_of if label_of[name] in two
    ]

    assert names(web.get("/api/v1/library/photos?from=2014-06-01&to=2014-07-01")) == [
        "paris.jpg",
        "versailles.jpg",
        "buenos-aires.jpg",
    ]
    assert names(web.get(f"/api/v1/library/photos?near={PARIS}&within_km=50")) == [
        "paris.jpg",
        "versailles.jpg",
    ]
    assert names(web.get(f"/api/v1/library/photos?near={PARIS}&within_km=10")) == ["paris.jpg"]
    # The four hemispheres: Buenos Aires (south, west), Sydney (south, east), Toronto (north, west).
    assert names(web.get("/api/v1/library/photos?near=-34.6,-58.38&within_km=5")) == [
        "buenos-aires.jpg"
    ]
    assert names(web.get("/api/v1/library/photos?near=-33.87,151.21&within_km=5")) == ["sydney.jpg"]
    assert names(web.get("/api/v1/library/photos?near=43.65,-79.38&within_km=5")) == ["toronto.jpg"]
    assert names(
        web.get(f"/api/v1/library/photos?near={PARIS}&within_km=50&without_gps=include")
    ) == ["home.jpg", "paris.jpg", "versailles.jpg"]
    assert names(web.get("/api/v1/library/photos?without_gps=only")) == ["home.jpg"]
    assert names(web.get("/api/v1/library/photos?without_gps=exclude")) == [
        shot.name for shot in SHOTS[1:]
    ]
    assert names(web.get("/api/v1/library/photos?place=Sydney")) == ["sydney.jpg"]
    assert names(web.get("/api/v1/library/photos?place=france")) == ["paris.jpg", "versailles.jpg"]
    # tags stay empty until a tags model exists
    assert names(web.get("/api/v1/library/photos?tag=beach")) == []
    # an empty field filters nothing
    assert names(web.get("/api/v1/library/photos?from=&to=&place=")) == [
        shot.name for shot in SHOTS
    ]


@pytest.mark.parametrize(
    "query, field",
    [
        ("near=abc&within_km=5", "near"),
        ("near=95,10&within_km=5", "near"),
        ("near=10,200&within_km=5", "near"),
        (f"near={PARIS}", "within_km"),
        (f"near={PARIS}&within_km=-1", "within_km"),
        (f"near={PARIS}&within_km=nan", "within_km"),
        ("within_km=5", "near"),
        ("from=2014-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2015-01-01&to=2014-01-01", "from"),
        ("without_gps=maybe", "without_gps"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=100000", "per_page"),
        ("colour=red", "colour"),
        ("place=" + "x" * 500, "place"),
        ("from=2014-01-01&from=2015-01-01", "from"),
    ],
)
def test_bad_filter_values_are_400_with_the_reason(web, query, field):
    for path in (
        "/api/v1/library/photos",
        "/api/v1/library/points",
        "/api/v1/library/stats",
        "/api/v1/library/report",
    ):
        answer = web.get(f"{path}?{query}")
        assert answer.status_code == 400, (path, query)
        assert answer.json["error"]["code"] == "invalid_filter"
        assert (
            f"'{field}'" in answer.json["error"]["message"]
            or repr(field) in answer.json["error"]["message"]
        )


def test_one_photo_has_its_exif_place_and_predictions(web, shots):
    photo = shots["buenos-aires.jpg"]
    assert photo["taken_at"] == "2014-07-01T12:00:00" and photo["date_source"] == "DateTimeOriginal"
    assert (round(photo["latitude"], 4), round(photo["longitude"], 4)) == (-34.6037, -58.3816)
    assert photo["place"] == "Buenos Aires, Argentina"
    assert photo["camera"] == "Canon EOS 5D" and photo["exif"]["Make"] == "Canon"
    assert (
        len(photo["predictions"]["predictions"]) == 3
        and photo["predictions"]["label"] == photo["label"]
    )
    assert web.get("/api/v1/library/photos/999").status_code == 404
    assert web.get("/api/v1/library/photos/999").json["error"]["code"] == "not_found"


def test_pictures_thumbnail_and_view_are_open_the_original_is_the_admins(web, shots):
    photo_id = shots["sydney.jpg"]["id"]
    thumbnail = Image.open(io.BytesIO(web.get(f"/api/v1/library/photos/{photo_id}/thumbnail").data))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) <= 320
    view = web.get(f"/api/v1/library/photos/{photo_id}/view")
    assert view.mimetype == "image/jpeg" and gps_of(view.data) == {}
    assert web.get(f"/api/v1/library/photos/{photo_id}/original").status_code == 401
    original = web.get(f"/api/v1/library/photos/{photo_id}/original", headers=ADMIN)
    assert original.status_code == 200 and original.mimetype == "image/jpeg"
    assert original.data == photo_path(shots["sydney.jpg"]["sha256"]).read_bytes()
    assert gps_of(original.data)  # the original keeps what the camera wrote
    for kind in ("thumbnail", "view"):
        assert web.get(f"/api/v1/library/photos/999/{kind}").status_code == 404


def test_points_stats_and_report_follow_the_filters(web, shots):
    points = web.get("/api/v1/library/points").json
    assert points["total"] == len(SHOTS) - 1  # the photo without GPS has no point
    assert {point["id"] for point in points["points"]} == {
        shots[shot.name]["id"] for shot in SHOTS if shot.gps
    }
    near = web.get(f"/api/v1/library/points?near={PARIS}&within_km=50").json
    assert sorted(point["id"] for point in near["points"]) == sorted(
        shots[name]["id"] for name in ("paris.jpg", "versailles.jpg")
    )

    stats = web.get("/api/v1/library/stats").json
    assert stats["total"] == len(SHOTS) and sum(stats["per_class"].values()) == len(SHOTS)
    assert [entry["month"] for entry in stats["per_month"]] == [
        "2013-12",
        "2014-06",
        "2014-07",
        "2015-01",
        "2015-02",
    ]
    assert (
        sum(entry["counts"].get(shots["paris.jpg"]["label"], 0) for entry in stats["per_month"])
        == stats["per_class"][shots["paris.jpg"]["label"]]
    )

    report = web.get("/api/v1/library/report?from=2014-06-01&to=2014-06-30")
    assert report.status_code == 200 and report.mimetype == "text/html"
    assert "attachment" in report.headers["Content-Disposition"]
    text = report.get_data(as_text=True)
    # Paris and Versailles, embedded
    assert len(re.findall(r'<img [^>]*src="data:image/jpeg;base64,', text)) == 2
    assert "versailles.jpg" in text and "sydney.jpg" not in text
    assert "<script" not in text and not re.search(r'(src|href)="https?:', text)  # opens offline


def test_delete_is_the_admins(web, shots):
    photo_id = shots["toronto.jpg"]["id"]
    assert web.delete(f"/api/v1/library/photos/{photo_id}").status_code == 401
    assert web.delete(f"/api/v1/library/photos/{photo_id}", headers=ADMIN).status_code == 204
    assert web.get(f"/api/v1/library/photos/{photo_id}").status_code == 404
    assert web.delete(f"/api/v1/library/photos/{photo_id}", headers=ADMIN).status_code == 404
    assert web.get("/api/v1/library/photos").json["total"] == len(SHOTS) - 1


def test_a_large_upload_is_a_job_that_a_worker_runs(web, library_home, tiny_model, monkeypatch):
    # the worker classifies with the model the app serves
    monkeypatch.setenv("PETCLF_MODEL", str(tiny_model))
    count = QUEUE_FROM_FILES + 2
    named = {f"photo{n}.jpg": SHOTS[n % len(SHOTS)].data(seed=100 + n) for n in range(count - 1)}
    named["broken.jpg"] = truncated_jpeg()
    answer = web.post(
        "/api/v1/library/photos", headers=ADMIN, data={"file": files(named), "shared": "true"}
    )
    assert answer.status_code == 202
    job = answer.json["job"]
    assert (job["kind"], job["state"], job["total"]) == ("library_ingest", "queued", count)
    # nothing yet: the worker ingests them
    assert web.get("/api/v1/library/photos").json["total"] == 0

    with start_worker(library_home):
        done = wait_for_job(job["id"], WORKER_TIMEOUT_S)
    assert done["state"] == "done", done
    polled = web.get(f"/api/v1/jobs/{job['id']}").json
    assert polled["state"] == "done" and polled["step"] == polled["total"] == count
    assert polled["result"]["counts"]["damaged"] == 1
    assert (
        polled["result"]["counts"].get("added", 0)
        + polled["result"]["counts"].get("near_duplicate", 0)
        == count - 1
    )
    listed = web.get("/api/v1/library/photos?per_page=100").json
    assert listed["total"] == count - 1 and all(photo["shared"] for photo in listed["photos"])


def test_the_queue_out_of_reach_is_a_503_not_a_500(web, monkeypatch):
    monkeypatch.setenv("PETCLF_QUEUE_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    named = {f"photo{n}.jpg": SHOTS[1].data(seed=200 + n) for n in range(QUEUE_FROM_FILES + 1)}
    answer = web.post("/api/v1/library/photos", headers=ADMIN, data={"file": files(named)})
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "queue_unavailable"
    with session() as db:  # not left "queued" for ever
        assert [(job.state, job.error) for job in db.scalars(select(Job))] == [
            ("failed", "the job queue could not be reached")
        ]
