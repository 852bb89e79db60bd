"""EXIF parsing: dates, GPS in all four hemispheres, camera, and the bad values cameras write."""

import math
from datetime import datetime

import pytest
from PIL.TiffImagePlugin import IFDRational

from library import exif
from tests.library.exifgen import make_exif, reopened

LATEST = datetime(2030, 1, 1)


@pytest.mark.parametrize(
    "latitude, longitude",
    [(48.8566, 2.3522), (-33.8688, 151.2093), (40.7128, -74.006), (-22.9068, -43.1729)],
)
def test_gps_in_every_hemisphere_keeps_its_signs(latitude, longitude):
    facts = exif.parse(
        reopened(make_exif(gps=(latitude, longitude), altitude=-12.5)), latest=LATEST
    )
    assert facts.latitude == pytest.approx(latitude, abs=1e-6)
    assert facts.longitude == pytest.approx(longitude, abs=1e-6)
    assert facts.altitude == -12.5  # GPSAltitudeRef 1: below sea level
    assert facts.notes == []


def test_date_camera_and_orientation():
    facts = exif.parse(
        reopened(
            make_exif(
                taken="2014:06:01 12:34:56", datetime_tag="2015:01:01 00:00:00", orientation=6
            )
        ),
        latest=LATEST,
    )
    assert (facts.taken_at, facts.date_source) == (
        datetime(2014, 6, 1, 12, 34, 56),
        "DateTimeOriginal",
    )
    assert (facts.camera_make, facts.camera_model, facts.orientation) == ("Canon", "EOS 5D", 6)


@pytest.mark.parametrize(
    "bad",
    ["0000:00:00 00:00:00", "2150:01:01 00:00:00", "not a date", "2014:02:30 10:00:00", "    "],
)
def test_bad_dates_fall_back_to_datetime_with_a_note(bad):
    facts = exif.parse(
        reopened(make_exif(taken=bad, datetime_tag="2013:05:04 03:02:01")), latest=LATEST
    )
    assert (facts.taken_at, facts.date_source) == (datetime(2013, 5, 4, 3, 2, 1), "DateTime")
    assert bad.strip() == "" or any("DateTimeOriginal" in note for note in facts.notes)


def test_no_usable_date_at_all():
    facts = exif.parse(
        reopened(make_exif(taken="2150:01:01 00:00:00", datetime_tag="0000:00:00 00:00:00")),
        latest=LATEST,
    )
    assert facts.taken_at is None and facts.date_source is None
    assert len(facts.notes) == 2


def test_zero_denominators_drop_the_position_with_a_note():
    gps = {
        1: "N",
        2: (IFDRational(48, 1), IFDRational(51, 0), IFDRational(0, 0)),
        3: "E",
        4: (IFDRational(2, 1), IFDRational(21, 1), IFDRational(8, 1)),
    }
    facts = exif.parse(reopened(make_exif(raw_gps=gps)), latest=LATEST)
    assert facts.latitude is None and facts.longitude is None
    assert "unreadable" in facts.notes[0]


@pytest.mark.parametrize("latitude, longitude", [(91.5, 10.0), (10.0, 181.0), (-95.0, -190.0)])
def test_positions_off_the_globe_are_dropped(latitude, longitude):
    gps = {
        1: "N",
        2: (IFDRational(round(abs(latitude)), 1), IFDRational(0, 1), IFDRational(0, 1)),
        3: "E",
        4: (IFDRational(round(abs(longitude)), 1), IFDRational(0, 1), IFDRational(0, 1)),
    }
    facts = exif.parse(reopened(make_exif(raw_gps=gps)), latest=LATEST)
    assert facts.latitude is None and "off the globe" in facts.notes[0]


def test_to_degrees_refuses_what_is_not_three_rationals():
    assert exif.to_degrees((IFDRational(10, 1), IFDRational(30, 1), IFDRational(0, 1))) == 10.5
    for bad in (
        None,
        "48.85",
        b"\x01\x02",
        (IFDRational(1, 0),),
        (1, 2, 3, 4),
        (-1.0, 0, 0),
        (math.inf, 0, 0),
    ):
        assert exif.to_degrees(bad) is None


def test_text_values_are_cleaned():
    assert exif.text(b"Canon\x00\x00 ") == "Canon"
    assert exif.text("A" * 500) == "A" * exif.MAX_TEXT
    assert exif.text("\x01\x02") is None
    assert exif.text(12) is None
