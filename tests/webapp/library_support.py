"""Shared by the library's web tests: a fresh store per test, an app serving the tiny model, the
admin's header, and generated photos with real EXIF (dates, GPS in all four hemispheres, camera)."""

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from library.exif import GPS_IFD
from tests.library.exifgen import make_exif, photo
from tests.stored_state import fresh_home
from webapp import create_app

TOKEN = "the-library-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Shot:
    name: str
    shape: str  # the generated picture: the tiny model's cat, dog or bird
    taken: str | None  # EXIF DateTimeOriginal
    gps: tuple[float, float] | None

    def data(self, seed: int) -> bytes:
        return photo(self.shape, seed=seed, exif=make_exif(taken=self.taken, gps=self.gps))


# In time order. Versailles is 17 km from Paris; the others are continents away.
SHOTS = (
    Shot("home.jpg", "cat", "2013:12:24 18:00:00", None),
    Shot("paris.jpg", "cat", "2014:06:10 09:30:00", (48.8566, 2.3522)),
    Shot("versailles.jpg", "dog", "2014:06:20 15:00:00", (48.8049, 2.1204)),
    Shot("buenos-aires.jpg", "bird", "2014:07:01 12:00:00", (-34.6037, -58.3816)),
    Shot("sydney.jpg", "dog", "2015:01:05 08:00:00", (-33.8688, 151.2093)),
    Shot("toronto.jpg", "bird", "2015:02:14 20:00:00", (43.6532, -79.3832)),
)
PARIS = "48.8566,2.3522"


@pytest.fixture
def library_home(tmp_path, monkeypatch) -> Path:
    """An empty PETCLF_HOME: its own SQLite store and queue, a known admin token."""
    return fresh_home(tmp_path, monkeypatch, token=TOKEN)


@pytest.fixture
def web(library_home, tiny_model):
    """A test client of an app serving the tiny model (which the library classifies with too)."""
    return create_app(model=tiny_model).test_client()


def files(named: dict[str, bytes]) -> list[tuple[io.BytesIO, str]]:
    """Multipart values of field "file", one per (name, bytes)."""
    return [(io.BytesIO(data), name) for name, data in named.items()]


def add_shots(web, shots=SHOTS, **fields) -> dict[str, dict]:
    """Upload the shots through the API (as the admin); {file name: its details from the API}."""
    named = {shot.name: shot.data(seed) for seed, shot in enumerate(shots)}
    answer = web.post(
        "/api/v1/library/photos", headers=ADMIN, data={"file": files(named), **fields}
    )
    assert answer.status_code == 200, answer.json
    added = {
        result["name"]: result["photo_id"]
        for result in answer.json["results"]
        if result["status"] == "added"
    }
    assert sorted(added) == sorted(named)
    return {
        name: web.get(f"/api/v1/library/photos/{photo_id}").json for name, photo_id in added.items()
    }


def gps_of(data: bytes) -> dict:
    """The GPS section of an image file's EXIF ({} when it has none)."""
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD))
