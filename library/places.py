"""Offline reverse geocoding: a position → the nearest town's (city, country).

The `reverse_geocode` package ships GeoNames' towns of 1,000+ people and looks the nearest one up
in a k-d tree; nothing is downloaded. Its table loads once per process, on first use (about 2 s).
"""

import threading
from dataclasses import dataclass

from library.geo import haversine_km

# Farther than this from any town (at sea, in a desert), a photo gets no place rather than a wrong one.
MAX_TOWN_DISTANCE_KM = 100.0

_lock = threading.Lock()


@dataclass(frozen=True)
class Place:
    city: str
    country: str

    def __str__(self) -> str:
        return f"{self.city}, {self.country}" if self.country else self.city


def places(positions: list[tuple[float, float]]) -> list[Place | None]:
    """The place of each (latitude, longitude), or None where no town is near."""
    if not positions:
        return []
    import reverse_geocode  # its table is large: imported only when a photo has a position

    with _lock:  # the package builds its table without a lock of its own
        found = reverse_geocode.search(positions)
    return [_place(position, town) for position, town in zip(positions, found)]


def _place(position: tuple[float, float], town: dict) -> Place | None:
    distance = haversine_km(position[0], position[1], town["latitude"], town["longitude"])
    if distance > MAX_TOWN_DISTANCE_KM or not town.get("city"):
        return None
    return Place(city=town["city"], country=town.get("country") or town.get("country_code", ""))
