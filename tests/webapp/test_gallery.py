"""The shared gallery through the Flask test client: anyone browses kept photos by class and tag, the
pictures it serves carry no GPS (read from the served bytes), photos not shared stay out, and only
the admin deletes."""

import io
import re

import pytest
from PIL import Image

import store
from store import LibraryTag
from tests.webapp.library_support import ADMIN, SHOTS, add_shots, gps_of, library_home, web  # noqa: F401
from tests.webapp.test_library_pages import grid, html, log_in


@pytest.fixture
def shared(web) -> dict[str, dict]:
    """Every shot but the last two, kept in the gallery; those two in the library only."""
    kept = add_shots(web, SHOTS[:4], shared="true")
    add_shots(web, SHOTS[4:])
    return kept


def test_anyone_sees_the_shared_photos_newest_first_and_nothing_else(web, shared):
    page = html(web.get("/gallery"))
    assert grid(page) == sorted((photo["id"] for photo in shared.values()), reverse=True)
    assert 'class="link delete"' not in page  # deleting is the admin's
    for photo_id in grid(page):
        assert f'src="/gallery/{photo_id}/thumbnail.jpg"' in page
    not_shared = web.get("/api/v1/library/photos?place=Sydney").json["photos"][0]["id"]
    assert web.get(f"/gallery/{not_shared}.jpg").status_code == 404
    assert web.get(f"/gallery/{not_shared}/thumbnail.jpg").status_code == 404


def test_the_pictures_it_serves_have_no_gps(web, shared):
    for photo in shared.values():
        if photo["latitude"] is None:
            continue
        original = web.get(f"/api/v1/library/photos/{photo['id']}/original", headers=ADMIN)
        assert gps_of(original.data), "the original must carry GPS, or this test proves nothing"
        for address in (f"/gallery/{photo['id']}.jpg", f"/gallery/{photo['id']}/thumbnail.jpg"):
            served = web.get(address)
            assert served.status_code == 200 and served.mimetype == "image/jpeg"
            picture = Image.open(io.BytesIO(served.data))
            assert gps_of(served.data) == {} and not picture.getexif(), address
            assert "xmp" not in picture.info and b"GPS" not in served.data, address
    page = html(web.get("/gallery"))
    assert "Paris" not in page and "48.85" not in page  # nor its place, nor its position


def test_browse_by_class_and_tag(web, shared):
    label = shared["paris.jpg"]["label"]
    expected = sorted(
        (photo["id"] for photo in shared.values() if photo["label"] == label), reverse=True
    )
    assert grid(html(web.get(f"/gallery?class={label}"))) == expected
    with store.session() as db:  # what a tags model would write; none exists yet
        db.add(LibraryTag(photo_id=shared["versailles.jpg"]["id"], tag="garden", proba=0.9))
    assert grid(html(web.get("/gallery?tag=garden"))) == [shared["versailles.jpg"]["id"]]
    assert grid(html(web.get("/gallery?tag=beach"))) == []
    bad = web.get("/gallery?tag=" + "x" * 100)
    assert bad.status_code == 400 and "'tag' must be printable text" in html(bad).replace(
        "&#39;", "'"
    )
    # The gallery has no date, place or distance filters: they would tell where a photo was taken.
    assert grid(html(web.get("/gallery?near=48.85,2.35&within_km=1"))) == grid(
        html(web.get("/gallery"))
    )


def test_only_the_admin_deletes(web, shared):
    photo_id = shared["paris.jpg"]["id"]
    refused = web.post(f"/gallery/{photo_id}/delete")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert web.get(f"/gallery/{photo_id}.jpg").status_code == 200

    csrf = log_in(web)
    assert 'class="link delete"' in html(web.get("/gallery"))
    refused = web.post(f"/gallery/{photo_id}/delete")  # a form without its token
    assert (
        refused.status_code == 400
        and "This form has expired" in html(refused)
        and 'id="back"' in html(refused)
    )
    assert web.get(f"/gallery/{photo_id}.jpg").status_code == 200
    done = web.post(f"/gallery/{photo_id}/delete", data={"csrf_token": csrf}, follow_redirects=True)
    assert f"Photo {photo_id} deleted." in html(done) and photo_id not in grid(html(done))
    assert web.get(f"/gallery/{photo_id}.jpg").status_code == 404
    assert web.get(f"/api/v1/library/photos/{photo_id}").status_code == 404

    not_shared = web.get("/api/v1/library/photos?place=Sydney").json["photos"][0]["id"]
    # not the gallery's to delete
    assert web.post(f"/gallery/{not_shared}/delete", data={"csrf_token": csrf}).status_code == 404
    assert re.search(
        r"No shared photo",
        html(web.post(f"/gallery/{not_shared}/delete", data={"csrf_token": csrf})),
    )
