"""GET /api/v1/library/points, the map's markers: paged like /photos, with larger pages."""

from library import MAX_POINTS_PER_PAGE
from tests.webapp.library_support import (  # noqa: F401
    PARIS,
    SHOTS,
    add_shots,
    library_home,
    web,
)


def test_points_come_a_bounded_page_at_a_time(web):
    shots = add_shots(web)
    placed = [shots[shot.name]["id"] for shot in SHOTS if shot.gps]  # SHOTS are in time order

    whole = web.get("/api/v1/library/points").json
    assert (whole["total"], whole["page"], whole["per_page"], whole["pages"]) == (
        len(placed),
        1,
        MAX_POINTS_PER_PAGE,
        1,
    )
    pages = [web.get(f"/api/v1/library/points?per_page=2&page={page}").json for page in (1, 2, 3)]
    assert [answer["pages"] for answer in pages] == [3, 3, 3]
    assert [len(answer["points"]) for answer in pages] == [2, 2, 1]
    assert [point["id"] for answer in pages for point in answer["points"]] == placed
    assert web.get("/api/v1/library/points?per_page=2&page=4").json["points"] == []

    near = web.get(f"/api/v1/library/points?near={PARIS}&within_km=50&per_page=1").json
    assert (near["total"], near["pages"], len(near["points"])) == (2, 2, 1)

    too_many = web.get(f"/api/v1/library/points?per_page={MAX_POINTS_PER_PAGE + 1}")
    assert too_many.status_code == 400
    assert too_many.json["error"]["code"] == "invalid_filter"


def test_the_openapi_document_says_how_points_are_paged(web):
    operation = web.get("/api/v1/openapi.json").json["paths"]["/api/v1/library/points"]["get"]
    per_page = next(p for p in operation["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == MAX_POINTS_PER_PAGE
    assert {"page", "per_page", "pages", "total", "points"} <= set(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    )
