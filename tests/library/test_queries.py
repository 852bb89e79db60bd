"""Filters parsed from query strings and the CLI, applied to rows in the store: classes, tags, dates,
place, radius (haversine after the bounding box), photos without GPS, paging, stats; on SQLite and
on PostgreSQL (a fresh database each, so the library's migration applies on both)."""

from datetime import date, datetime

import pytest
from werkzeug.datastructures import MultiDict

from library import (
    MAX_POINTS_PER_PAGE,
    Filters,
    InvalidFilter,
    find,
    find_points,
    matching_ids,
    paging,
    stats,
)
from store import session
from tests.library.rows import insert_rows, row
from tests.projects.test_store_backends import fresh_postgres_database

PARIS = (48.8566, 2.3522)


@pytest.fixture(params=["sqlite", "postgresql"])
def library(request, tmp_path, monkeypatch):
    """A store holding a few photos whose answers to each filter are known."""
    monkeypatch.setenv("PETCLF_HOME", str(tmp_path / "home"))
    if request.param == "postgresql":
        monkeypatch.setenv(
            "PETCLF_DATABASE_URL", fresh_postgres_database(request.getfixturevalue("postgres_url"))
        )
    else:
        monkeypatch.delenv("PETCLF_DATABASE_URL", raising=False)
    rows = [
        row(
            0,
            label="cat",
            taken_at=datetime(2014, 6, 1, 9),
            latitude=48.8566,
            longitude=2.3522,
            city="Paris",
            country="France",
        ),
        # 49 km north
        row(
            1,
            label="dog",
            taken_at=datetime(2014, 6, 15, 9),
            latitude=49.30,
            longitude=2.3522,
            city="Compiègne",
            country="France",
        ),
        # 51 km north
        row(
            2, label="dog", taken_at=datetime(2014, 7, 31, 23, 59), latitude=49.32, longitude=2.3522
        ),
        row(3, label="bird", taken_at=datetime(2014, 8, 1, 0, 0)),  # no position
        row(
            4,
            label="cat",
            taken_at=datetime(2015, 1, 2),
            latitude=-16.5,
            longitude=179.9,
            city="Labasa",
            country="Fiji",
        ),
        # 21 km across the antimeridian
        row(5, label="cat", taken_at=datetime(2015, 1, 3), latitude=-16.5, longitude=-179.9),
    ]
    with session() as db:
        ids = insert_rows(db, rows, tags={0: ["beach", "sunset"], 1: ["beach"]})
    return ids


def names(filters: dict) -> list[str]:
    with session() as db:
        rows, total = find(db, Filters.parse(filters), 1, 100)
        assert total == len(rows)
        return [photo.original_name for photo in rows]


def test_no_filter_lists_everything_oldest_first(library):
    assert names({}) == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg", "p5.jpg"]


def test_classes_repeat_and_combine(library):
    assert names({"class": ["dog", "bird"]}) == ["p1.jpg", "p2.jpg", "p3.jpg"]
    assert names(MultiDict([("class", "dog"), ("class", "bird")])) == ["p1.jpg", "p2.jpg", "p3.jpg"]
    assert names({"class": "hamster"}) == []


def test_tags_must_all_be_there(library):
    assert names({"tag": "beach"}) == ["p0.jpg", "p1.jpg"]
    assert names({"tag": ["beach", "sunset"]}) == ["p0.jpg"]


def test_dates_include_the_whole_last_day(library):
    assert names({"from": "2014-06-01", "to": "2014-07-31"}) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert names({"from": "2014-08-01"}) == ["p3.jpg", "p4.jpg", "p5.jpg"]


def test_place_matches_a_city_or_a_country_in_any_case(library):
    assert names({"place": "paris"}) == ["p0.jpg"]
    assert names({"place": "France"}) == ["p0.jpg", "p1.jpg"]


def test_radius_is_haversine_not_the_box(library):
    # 51 km is in the box, not the circle
    assert names({"near": "48.8566,2.3522", "within_km": "50"}) == [
        "p0.jpg",
        "p1.jpg",
    ]
    # "within 100 m of home"
    assert names({"near": "48.8566,2.3522", "within_km": "0.1"}) == ["p0.jpg"]
    # across the antimeridian
    assert names({"near": "-16.5,179.95", "within_km": "20"}) == [
        "p4.jpg",
        "p5.jpg",
    ]


def test_photos_without_gps(library):
    assert names({"without_gps": "only"}) == ["p3.jpg"]
    assert "p3.jpg" not in names({"without_gps": "exclude"})
    assert names({"near": "48.8566,2.3522", "within_km": "50", "without_gps": "include"}) == [
        "p0.jpg",
        "p1.jpg",
        "p3.jpg",
    ]


def test_filters_combine(library):
    assert names(
        {"class": "dog", "near": "48.8566,2.3522", "within_km": "60", "to": "2014-06-30"}
    ) == ["p1.jpg"]


def test_paging_counts_every_match(library):
    with session() as db:
        rows, total = find(db, Filters(), page=2, per_page=4)
        assert (total, [photo.original_name for photo in rows]) == (6, ["p4.jpg", "p5.jpg"])
        rows, total = find(
            db, Filters.parse({"near": "48.8566,2.3522", "within_km": "60"}), page=2, per_page=2
        )
        assert (total, [photo.original_name for photo in rows]) == (3, ["p2.jpg"])
        assert len(matching_ids(db, Filters.parse({"class": "cat"}))) == 3


def test_points_are_the_placed_matches_a_page_at_a_time(library):
    ids = library
    with session() as db:
        first, total = find_points(db, Filters(), page=1, per_page=3)
        second, _ = find_points(db, Filters(), page=2, per_page=3)
        near, near_total = find_points(
            db, Filters.parse({"near": "48.8566,2.3522", "within_km": "50"})
        )
    assert total == 5  # p3 has no position
    assert [point.id for point in first + second] == [ids[n] for n in (0, 1, 2, 4, 5)]
    assert (first[0].label, first[0].latitude, first[0].longitude) == ("cat", 48.8566, 2.3522)
    assert (near_total, [point.id for point in near]) == (2, [ids[0], ids[1]])
    assert paging({}, MAX_POINTS_PER_PAGE, most=MAX_POINTS_PER_PAGE) == (1, MAX_POINTS_PER_PAGE)
    with pytest.raises(InvalidFilter):
        paging({"per_page": str(MAX_POINTS_PER_PAGE + 1)}, most=MAX_POINTS_PER_PAGE)


def test_stats_per_month_and_class(library):
    with session() as db:
        counts = stats(db, Filters())
        near = stats(db, Filters.parse({"near": "48.8566,2.3522", "within_km": "50"}))
    assert counts["total"] == 6
    assert counts["per_class"] == {"cat": 3, "dog": 2, "bird": 1}
    assert counts["per_month"] == [
        {"month": "2014-06", "counts": {"cat": 1, "dog": 1}},
        {"month": "2014-07", "counts": {"dog": 1}},
        {"month": "2014-08", "counts": {"bird": 1}},
        {"month": "2015-01", "counts": {"cat": 2}},
    ]
    assert near["per_class"] == {"cat": 1, "dog": 1}


def test_parsed_values():
    filters = Filters.parse(
        {
            "class": ["cat,dog", "cat"],
            "from": "2014-06-01",
            "near": " 48.85 , -2.5 ",
            "within_km": "0.1",
            "without_gps": "exclude",
            "page": "3",
        }
    )
    assert filters.classes == ("cat", "dog")
    assert filters.date_from == date(2014, 6, 1)
    assert filters.near == (48.85, -2.5) and filters.within_km == 0.1
    # links keep the filters as they were
    assert Filters.parse(MultiDict(filters.to_query())) == filters
    assert paging({"page": "3", "per_page": "20"}) == (3, 20)
    assert paging({}) == (1, 50)


@pytest.mark.parametrize(
    "values, field",
    [
        ({"from": "2014-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2014-07-01", "to": "2014-06-01"}, "from"),
        ({"near": "48.85"}, "near"),
        ({"near": "north,east", "within_km": "5"}, "near"),
        ({"near": "91,0", "within_km": "5"}, "near"),
        ({"near": "0,181", "within_km": "5"}, "near"),
        ({"near": "nan,0", "within_km": "5"}, "near"),
        ({"near": "48,2", "within_km": "0"}, "within_km"),
        ({"near": "48,2", "within_km": "-3"}, "within_km"),
        ({"near": "48,2", "within_km": "inf"}, "within_km"),
        ({"near": "48,2"}, "within_km"),
        ({"within_km": "5"}, "near"),
        ({"near": "48,2", "within_km": "5", "without_gps": "only"}, "without_gps"),
        ({"without_gps": "sometimes"}, "without_gps"),
        ({"place": "x" * 500}, "place"),
        ({"from": ["2014-01-01", "2015-01-01"]}, "from"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_their_filter(values, field):
    with pytest.raises(InvalidFilter) as raised:
        Filters.parse(values)
    assert raised.value.field == field
    assert str(raised.value)


@pytest.mark.parametrize(
    "values, field",
    [
        ({"page": "0"}, "page"),
        ({"per_page": "501"}, "per_page"),
        ({"page": "²"}, "page"),
        ({"per_page": "x"}, "per_page"),
    ],
)
def test_bad_paging(values, field):
    with pytest.raises(InvalidFilter) as raised:
        paging(values)
    assert raised.value.field == field


def test_plots_draw_the_counts(library):
    from library import per_class_svg, per_month_svg

    with session() as db:
        counts = stats(db, Filters())
    months, classes = per_month_svg(counts), per_class_svg(counts)
    assert months.startswith("<svg") and classes.startswith("<svg")
    for month in ("2014-06", "2014-07", "2014-08", "2015-01"):
        assert f">{month}<" in months
    for label in ("cat", "dog", "bird"):
        assert f">{label}<" in classes and f">{label}<" in months  # bars' labels and the legend


@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_radius_on_a_sqlite_without_math_functions(library):
    """Python's sin and cos, as `prepare` gives a SQLite built without math functions, answer alike."""
    from library.queries import add_trigonometry

    with session() as db:
        # in place of the built-in ones
        add_trigonometry(db.connection().connection.dbapi_connection)
        rows, total = find(db, Filters.parse({"near": "48.8566,2.3522", "within_km": "50"}))
    assert [photo.original_name for photo in rows] == ["p0.jpg", "p1.jpg"] and total == 2
