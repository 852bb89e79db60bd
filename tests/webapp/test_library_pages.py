"""The library pages through the Flask test client: the grid in time order with its filters, the
map's and plots' addresses keeping the filters, bad filters answered on the page, one photo's page,
the plots, the upload and delete forms (admin, CSRF), and "keep this photo" on the home page."""

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

import store
from library.exif import DATETIME_ORIGINAL, EXIF_IFD, MAKE
from store import LibraryPhoto, photo_path
from tests.webapp.library_support import (  # noqa: F401
    PARIS,
    SHOTS,
    TOKEN,
    add_shots,
    files,
    gps_of,
    library_home,
    web,
)


@pytest.fixture
def shots(web) -> dict[str, dict]:
    return add_shots(web)


def html(answer) -> str:
    return answer.get_data(as_text=True)


def grid(page: str) -> list[int]:
    """The photo ids of the page's grid, in order."""
    return [int(found) for found in re.findall(r'<li data-id="(\d+)"', page)]


def attribute(page: str, element_id: str, name: str) -> str:
    """An attribute of the element with this id, unescaped."""
    tag = re.search(rf'<[^>]*\sid="{element_id}"[^>]*>', page)
    assert tag, f"no #{element_id}"
    match = re.search(rf'\s{name}="([^"]*)"', tag.group(0))
    assert match, f"no {name} on #{element_id}"
    return match.group(1).replace("&amp;", "&")


def log_in(web) -> str:
    """Log the client in as the admin; the session's CSRF token."""
    form = html(web.get("/login"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert (
        web.post(
            "/login", data={"csrf_token": csrf, "token": TOKEN, "next": "/library"}
        ).status_code
        == 302
    )
    return csrf


def test_the_library_page_shows_every_photo_in_time_order(web, shots):
    answer = web.get("/library")
    page = html(answer)
    assert answer.status_code == 200
    assert grid(page) == [shots[shot.name]["id"] for shot in SHOTS]
    assert f"{len(SHOTS)} photos, in time order" in page
    for label in {photo["label"] for photo in shots.values()}:
        assert f'name="class" value="{label}"' in page
    assert attribute(page, "library-map", "data-points") == "/api/v1/library/points"
    assert attribute(page, "library-map", "data-land").endswith(
        "/vendor/natural-earth/land-110m.geojson"
    )
    assert 'src="/library/plots/months.svg"' in page and 'src="/library/plots/classes.svg"' in page
    # Strict CSP: every script and style is a file of this app.
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert (
        not re.search(r"<script(?![^>]*\ssrc=)", page)
        and "<style" not in page
        and " style=" not in page
    )
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert web.get(asset).status_code == 200, asset


def test_filters_narrow_the_grid_and_every_link_keeps_them(web, shots):
    label = shots["paris.jpg"]["label"]
    page = html(web.get(f"/library?class={label}&from=2014-01-01&tag=&place="))
    expected = [
        shots[shot.name]["id"]
        for shot in SHOTS
        if shots[shot.name]["label"] == label and shot.taken >= "2014"
    ]
    assert grid(page) == expected
    assert f'value="{label}" checked' in page and 'value="2014-01-01"' in page
    for element_id in ("library-map", "plot-months", "plot-classes", "report-link"):
        name = (
            "data-points"
            if element_id == "library-map"
            else "href"
            if element_id == "report-link"
            else "src"
        )
        query = parse_qs(urlsplit(attribute(page, element_id, name)).query)
        assert query == {"class": [label], "from": ["2014-01-01"]}, element_id

    near = html(web.get(f"/library?near={PARIS}&within_km=50"))
    assert grid(near) == [shots["paris.jpg"]["id"], shots["versailles.jpg"]["id"]]
    assert f'value="{PARIS}"' in near and 'value="50"' in near


def test_pages_of_the_grid(web, shots, monkeypatch):
    monkeypatch.setattr("webapp.library_pages.PER_PAGE", 4)
    first = html(web.get("/library?without_gps=exclude"))
    assert grid(first) == [shots[shot.name]["id"] for shot in SHOTS[1:5]]
    following = attribute(first, "next-page", "href")
    assert parse_qs(urlsplit(following).query) == {"without_gps": ["exclude"], "page": ["2"]}
    assert grid(html(web.get(following))) == [shots[SHOTS[5].name]["id"]]


@pytest.mark.parametrize(
    "query, words",
    [
        ("near=somewhere&within_km=5", "'near' must be LAT,LON"),
        ("near=10,10&within_km=0", "'within_km' must be a distance"),
        ("from=2014-02-30", "'from' must be a date"),
        ("without_gps=sometimes", "'without_gps' must be one of"),
        ("page=-1", "'page' must be a whole number"),
    ],
)
def test_a_bad_filter_is_said_on_the_page_with_the_form_kept(web, shots, query, words):
    answer = web.get(f"/library?{query}")
    assert answer.status_code == 400
    page = html(answer)
    assert words in page.replace("&#39;", "'") and 'id="error"' in page
    assert grid(page) == [] and 'id="filters"' in page
    typed = parse_qs(query)
    for name in ("near", "from"):
        if name in typed:
            assert f'value="{typed[name][0]}"' in page  # kept as typed, to be corrected


def test_a_photo_page_has_the_large_view_exif_map_pin_and_predictions(web, shots):
    photo = shots["sydney.jpg"]
    page = html(web.get(f"/library/photos/{photo['id']}"))
    assert f'src="/api/v1/library/photos/{photo["id"]}/view"' in page
    assert attribute(page, "photo-map", "data-latitude") == str(photo["latitude"])
    assert attribute(page, "photo-map", "data-longitude") == str(photo["longitude"])
    assert "Sydney, Australia" in page and "Canon EOS 5D" in page and "2015-01-05 08:00:00" in page
    assert re.search(r'<table class="figures" id="exif">.*DateTimeOriginal', page, re.DOTALL)
    bars = re.findall(r'<li class="bar" data-label="(\w+)" data-proba="([\d.]+)"', page)
    assert [label for label, _ in bars] == [
        item["label"] for item in photo["predictions"]["predictions"]
    ]
    assert 'id="original-link"' not in page and 'id="delete"' not in page  # the admin's only

    no_gps = html(web.get(f"/library/photos/{shots['home.jpg']['id']}"))
    assert 'id="photo-map"' not in no_gps and '<dd id="gps">none</dd>' in no_gps
    missing = web.get("/library/photos/999")
    assert missing.status_code == 404 and "No photo 999" in html(missing)


def test_the_plots_are_svg_of_the_filtered_counts(web, shots):
    months = web.get("/library/plots/months.svg")
    assert months.status_code == 200 and months.mimetype == "image/svg+xml"
    text = html(months)
    assert text.startswith("<svg") and all(
        month in text for month in ("2013-12", "2014-06", "2015-02")
    )
    narrowed = html(web.get("/library/plots/months.svg?from=2015-01-01"))
    assert "2015-02" in narrowed and "2014-06" not in narrowed
    classes = html(web.get("/library/plots/classes.svg"))
    assert all(label in classes for label in {photo["label"] for photo in shots.values()})
    assert web.get("/library/plots/classes.svg?to=never").status_code == 400


def test_uploading_and_deleting_need_the_admin_login_and_the_forms_token(web):
    assert web.get("/library/upload").status_code == 302  # to the login form
    refused = web.post("/library/upload", data={"file": files({"paris.jpg": SHOTS[1].data(1)})})
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    csrf = log_in(web)
    # no token
    assert (
        web.post(
            "/library/upload", data={"file": files({"paris.jpg": SHOTS[1].data(1)})}
        ).status_code
        == 400
    )

    form = html(web.get("/library/upload"))
    assert (
        'id="library-upload"' in form
        and attribute(form, "library-upload", "data-api") == "/api/v1/library/photos"
    )
    sent = web.post(
        "/library/upload",
        data={
            "csrf_token": csrf,
            "file": files({"paris.jpg": SHOTS[1].data(1), "notes.jpg": b"hi\n"}),
        },
        follow_redirects=True,
    )
    assert "paris.jpg: added" in html(sent) and "notes.jpg:" in html(sent)
    with store.session() as db:
        [photo_id] = db.scalars(select(LibraryPhoto.id)).all()

    assert 'id="delete"' in html(web.get(f"/library/photos/{photo_id}"))
    web.post("/logout", data={"csrf_token": csrf})
    assert (
        web.post(f"/library/photos/{photo_id}/delete", data={"csrf_token": csrf}).status_code == 302
    )
    assert web.get(f"/library/photos/{photo_id}").status_code == 200  # still there: not the admin
    csrf = log_in(web)
    gone = web.post(
        f"/library/photos/{photo_id}/delete", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert f"Photo {photo_id} deleted." in html(gone)
    assert web.get(f"/library/photos/{photo_id}").status_code == 404


def test_a_large_form_upload_goes_to_the_job_page(web):
    csrf = log_in(web)
    named = {f"photo{n}.jpg": SHOTS[n % len(SHOTS)].data(seed=300 + n) for n in range(9)}
    sent = web.post("/library/upload", data={"csrf_token": csrf, "file": files(named)})
    assert sent.status_code == 302
    job_id = parse_qs(urlsplit(sent.headers["Location"]).query)["job"][0]
    page = html(web.get(sent.headers["Location"]))
    # library.js follows it from here
    assert attribute(page, "library-upload", "data-job") == job_id
    assert web.get(f"/api/v1/jobs/{job_id}").json["state"] == "queued"


def test_the_home_page_keeps_a_photo_only_when_asked_and_without_its_position(web):
    home = html(web.get("/"))
    # off by default
    assert re.search(r'<input type="checkbox" name="keep" value="1" id="keep">', home)
    original = SHOTS[4].data(seed=4)
    assert gps_of(original)

    answer = web.post("/", data={"file": (io.BytesIO(original), "sydney.jpg")})
    assert answer.status_code == 200 and 'id="kept"' not in html(answer)
    assert web.get("/api/v1/library/photos").json["total"] == 0  # classified in memory, not stored

    kept = web.post("/", data={"file": (io.BytesIO(original), "sydney.jpg"), "keep": "1"})
    assert kept.status_code == 200 and "Kept in the" in html(kept)
    [photo] = web.get("/api/v1/library/photos").json["photos"]
    details = web.get(f"/api/v1/library/photos/{photo['id']}").json
    assert photo["shared"] and photo["latitude"] is None and photo["place"] is None
    assert details["taken_at"] == "2015-01-05T08:00:00" and details["camera"] == "Canon EOS 5D"
    stored = photo_path(details["sha256"]).read_bytes()
    assert gps_of(stored) == {}  # the position was never stored
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert (
        exif[MAKE] == "Canon" and exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] == "2015:01:05 08:00:00"
    )
    predicted = re.search(r'<h1 id="verdict"[^>]*>([^<]+)<', html(kept)).group(1)
    assert photo["label"].replace("_", " ") in predicted or details["predictions"]["unknown"]

    again = web.post("/", data={"file": (io.BytesIO(original), "sydney.jpg"), "keep": "1"})
    assert "has this photo already" in html(again)
    assert web.get("/api/v1/library/photos").json["total"] == 1
