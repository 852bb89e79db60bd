"""Distances on the globe: haversine, and the latitude/longitude box that holds a circle
(the indexed prefilter before the exact distance)."""

import math
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # the mean radius


@dataclass(frozen=True)
class Box:
    """Latitudes south..north; longitudes west..east, or, across the antimeridian, ≥ west or ≤ east."""

    south: float
    north: float
    west: float
    east: float

    @property
    def wraps(self) -> bool:
        return self.west > self.east


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; numpy arrays work element-wise."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bounding_box(latitude: float, longitude: float, radius_km: float) -> Box:
    """The smallest latitude/longitude box holding every point within `radius_km` of the centre."""
    angle = radius_km / EARTH_RADIUS_KM  # radians of arc
    south, north = latitude - math.degrees(angle), latitude + math.degrees(angle)
    if south <= -90 or north >= 90:  # the circle holds a pole: every longitude
        return Box(max(south, -90.0), min(north, 90.0), -180.0, 180.0)
    # The widest longitude span of the circle (at its tangent latitudes, not at the centre's).
    spread = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(latitude)))))
    west, east = longitude - spread, longitude + spread
    if west < -180:
        west += 360
    if east > 180:
        east -= 360
    if spread >= 180:
        west, east = -180.0, 180.0
    return Box(south, north, west, east)
