"""Offline reverse geocoding: a position → (city, country).

The `reverse_geocode` package ships GeoNames' towns of 1,000+ people and looks the nearest one up
in a k-d tree; nothing is downloaded. Its table loads once per process, on first use (about 2 s).
The nearest point is often a district (the Sydney Opera House is nearest to "The Rocks"), so the
nearest city of 100,000+ people competes with it: the one with more people for its distance
(population / (1 km + distance)²) names the place, so a photo taken in a city is in that city
while one taken in a town beside it stays in that town.
"""

import threading
from dataclasses import dataclass

from library.geo import haversine_km

# Farther than this from any town (at sea, in a desert), a photo gets no place rather than a wrong one.
MAX_TOWN_DISTANCE_KM = 100.0
CITY_POPULATION = 100_000

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

    with _lock:  # the package builds its tables without a lock of its own
        towns = reverse_geocode.search(positions)
        cities = reverse_geocode.search(positions, min_population=CITY_POPULATION)
    return [_place(position, town, city) for position, town, city in zip(positions, towns, cities)]


def _place(position: tuple[float, float], town: dict, city: dict) -> Place | None:
    best = max((town, city), key=lambda candidate: _pull(position, candidate))
    if _distance(position, best) > MAX_TOWN_DISTANCE_KM or not best.get("city"):
        return None
    return Place(city=best["city"], country=best.get("country") or best.get("country_code", ""))


def _pull(position: tuple[float, float], town: dict) -> float:
    return town.get("population", 0) / (1 + _distance(position, town)) ** 2


def _distance(position: tuple[float, float], town: dict) -> float:
    return float(haversine_km(position[0], position[1], town["latitude"], town["longitude"]))
