"""One photo: details, the pictures served (no GPS ever leaves a shared photo), sharing, deleting."""

import io

import pytest
from PIL import Image

from library import (
    NotFound,
    delete,
    details,
    ingest_upload,
    set_shared,
    shared_image,
    thumbnail_bytes,
    view_bytes,
)
from library.exif import GPS_IFD
from library.files import thumbnail_path
from store import photo_path, session
from tests.library.exifgen import make_exif, photo


@pytest.fixture
def shared_photo(library_home) -> int:
    data = photo(
        seed=2,
        size=(3000, 1000),
        exif=make_exif(gps=(-33.8688, 151.2093), taken="2014:06:01 10:00:00", orientation=6),
    )
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the original does carry GPS
    return ingest_upload("sydney.jpg", data, shared=True).photo_id


def test_the_gallery_picture_is_upright_and_has_no_gps(shared_photo):
    with session() as db:
        served = Image.open(io.BytesIO(shared_image(db, shared_photo)))
        info = details(db, shared_photo)
    assert served.size == (683, 2048)  # turned upright (orientation 6), at most 2048 px
    assert not served.getexif() and "exif" not in served.info and "xmp" not in served.info
    assert (info["latitude"], info["place"], info["camera"]) == (
        -33.8688,
        "Sydney, Australia",
        "Canon EOS 5D",
    )


def test_only_shared_photos_are_in_the_gallery(shared_photo):
    with session() as db:
        set_shared(db, shared_photo, False)
    with session() as db:
        with pytest.raises(NotFound):
            shared_image(db, shared_photo)
        # the admin's own view
        assert Image.open(io.BytesIO(view_bytes(db, shared_photo))).size == (
            683,
            2048,
        )
        with pytest.raises(NotFound):
            details(db, 999)


def test_delete_removes_the_row_and_its_files(shared_photo):
    with session() as db:
        sha = details(db, shared_photo)["sha256"]
        assert thumbnail_bytes(db, shared_photo) == thumbnail_path(sha).read_bytes()
        delete(db, shared_photo)
        assert thumbnail_path(sha).exists()  # not before the commit
    assert not thumbnail_path(sha).exists() and not photo_path(sha).exists()
    with session() as db, pytest.raises(NotFound):
        thumbnail_bytes(db, shared_photo)
