"""Haversine distances and the bounding box that prefilters a radius query."""

import random

import numpy as np
import pytest

from library.geo import bounding_box, haversine_km


def test_known_distances():
    # Paris–London
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)
    # across the antimeridian
    assert haversine_km(0, 179.9, 0, -179.9) == pytest.approx(22.24, abs=0.05)
    assert haversine_km(10, 10, 10, 10) == 0


@pytest.mark.parametrize(
    "latitude, longitude, radius",
    [
        (48.85, 2.35, 0.1),
        (48.85, 2.35, 50),
        (-33.87, 151.21, 500),
        (0, 179.5, 200),
        (0, -179.5, 200),
        (89.5, 0, 100),
        (-89.9, 30, 50),
        (60, 100, 3000),
    ],
)
def test_the_box_holds_every_point_of_the_circle(latitude, longitude, radius):
    box = bounding_box(latitude, longitude, radius)
    rng = random.Random(f"{latitude},{longitude},{radius}")
    # Points on and just inside the circle, all around it: walk out from the centre by bearing.
    for _ in range(400):
        bearing, distance = np.radians(rng.uniform(0, 360)), rng.uniform(0.9, 1.0) * radius
        lat, lon = _destination(latitude, longitude, bearing, distance)
        assert haversine_km(latitude, longitude, lat, lon) == pytest.approx(distance, rel=1e-6)
        assert box.south <= lat <= box.north
        inside = (lon >= box.west or lon <= box.east) if box.wraps else box.west <= lon <= box.east
        assert inside, (lat, lon, box)


def test_the_box_wraps_at_the_antimeridian_and_opens_at_the_poles():
    assert bounding_box(0, 179.5, 200).wraps
    polar = bounding_box(89.5, 0, 100)
    assert (polar.west, polar.east, polar.north) == (-180.0, 180.0, 90.0)


def _destination(latitude, longitude, bearing, distance_km):
    lat1, lon1, angle = np.radians(latitude), np.radians(longitude), distance_km / 6371.0088
    lat2 = np.arcsin(np.sin(lat1) * np.cos(angle) + np.cos(lat1) * np.sin(angle) * np.cos(bearing))
    lon2 = lon1 + np.arctan2(
        np.sin(bearing) * np.sin(angle) * np.cos(lat1), np.cos(angle) - np.sin(lat1) * np.sin(lat2)
    )
    return float(np.degrees(lat2)), float((np.degrees(lon2) + 540) % 360 - 180)
