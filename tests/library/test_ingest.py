"""Ingest through the real models and store: EXIF read into rows, upright thumbnails, places,
predictions, duplicates and near duplicates, reruns, uploads, and every kind of bad input."""

import io
import os
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from library import Options, details, ingest_paths, ingest_upload
from library.files import thumbnail_path
from store import LibraryPhoto, photo_path, session
from tests.imagegen import encode, shape_image
from tests.library.exifgen import make_exif, photo, with_garbage_exif

PLACES = {  # four hemispheres
    "paris.jpg": ((48.8566, 2.3522), "Paris", "France"),
    "sydney.jpg": ((-33.8688, 151.2093), "Sydney", "Australia"),
    "new_york.jpg": ((40.7128, -74.0060), "New York City", "United States"),
    "rio.jpg": ((-22.9068, -43.1729), "Rio de Janeiro", "Brazil"),
}


def rows() -> dict[str, LibraryPhoto]:
    with session() as db:
        return {photo.original_name: photo for photo in db.query(LibraryPhoto)}


def by_name(outcomes) -> dict:
    return {Path(outcome.name).name: outcome for outcome in outcomes}


def test_dates_places_cameras_and_predictions(library_home, tmp_path):
    folder = tmp_path / "trip"
    (folder / "day2").mkdir(parents=True)
    for number, (name, (position, _, _)) in enumerate(PLACES.items()):
        exif = make_exif(taken=datetime(2014, 6, 1 + number, 10, 0, 0), gps=position, altitude=35.5)
        (folder / ("day2" if number % 2 else "") / name).write_bytes(
            photo("cat", number, exif=exif)
        )

    outcomes = ingest_paths([folder], options=Options(workers=2))
    assert sorted(outcome.status for outcome in outcomes) == ["added"] * 4, [
        o.to_dict() for o in outcomes
    ]
    assert {outcome.name for outcome in outcomes} == {
        "trip/paris.jpg",
        "trip/day2/sydney.jpg",
        "trip/new_york.jpg",
        "trip/day2/rio.jpg",
    }
    stored = rows()
    for number, (name, (position, city, country)) in enumerate(PLACES.items()):
        row = stored[name]
        assert (row.latitude, row.longitude) == pytest.approx(position, abs=1e-6)
        assert (row.city, row.country, row.altitude) == (city, country, 35.5)
        assert (row.taken_at, row.date_source) == (
            datetime(2014, 6, 1 + number, 10),
            "DateTimeOriginal",
        )
        assert (row.camera_make, row.camera_model) == ("Canon", "EOS 5D")
        assert (
            row.predictions["label"] in ("bird", "cat", "dog", "unknown")
            and len(row.predictions["predictions"]) == 3
        )
        assert (
            row.label == row.predictions["label"]
            and row.confidence == row.predictions["predictions"][0]["proba"]
        )
        assert row.objects["predictions"]  # imagenet.h5 beside the pet model answered too
        assert (
            photo_path(row.sha256).read_bytes()
            == (folder / ("day2" if number % 2 else "") / name).read_bytes()
        )


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_turned_upright(library_home, tmp_path, orientation):
    """A picture stored sideways with the orientation tag that undoes it: once upright it is 400×200
    with its red half on the left, whichever of the eight ways it was stored."""
    upright = Image.new("RGB", (400, 200), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 200, 200))
    stored = upright.transpose(_STORED_AS[orientation]) if orientation > 1 else upright
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "turned.jpg").write_bytes(
        photo(image=stored, exif=make_exif(orientation=orientation))
    )

    [outcome] = ingest_paths([tmp_path / "in"])
    assert outcome.status == "added"
    row = rows()["turned.jpg"]
    assert (row.width, row.height) == (400, 200)
    thumbnail = Image.open(thumbnail_path(row.sha256))
    assert thumbnail.size == (320, 160)
    left, right = thumbnail.getpixel((40, 80)), thumbnail.getpixel((280, 80))
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60


# Stored pixels = the upright picture transformed by the inverse of what each EXIF orientation asks.
_STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def test_bad_exif_values_keep_the_photo_and_say_why(library_home, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    zero = {
        1: "N",
        2: (IFDRational(48, 1), IFDRational(51, 0), IFDRational(0, 0)),
        3: "E",
        4: (IFDRational(2, 1), IFDRational(0, 1), IFDRational(0, 1)),
    }
    off_globe = {
        1: "N",
        2: (IFDRational(95, 1), IFDRational(0, 1), IFDRational(0, 1)),
        3: "W",
        4: (IFDRational(200, 1), IFDRational(0, 1), IFDRational(0, 1)),
    }
    files = {
        "zero_denominator.jpg": photo(
            seed=1, exif=make_exif(raw_gps=zero, taken="2014:06:01 10:00:00")
        ),
        "off_globe.jpg": photo(
            seed=2, exif=make_exif(raw_gps=off_globe, taken="2014:06:01 10:00:00")
        ),
        "zero_date.jpg": photo(seed=3, exif=make_exif(taken="0000:00:00 00:00:00")),
        "future_date.jpg": photo(seed=4, exif=make_exif(taken="2150:01:01 00:00:00")),
        "not_a_date.jpg": photo(
            seed=5, exif=make_exif(taken="sometime in June", datetime_tag="2013:05:04 03:02:01")
        ),
        "garbage_exif.jpg": with_garbage_exif(photo(seed=6)),
        "no_exif.png": photo(seed=7, fmt="PNG"),
        "no_exif.webp": photo(seed=8, fmt="WEBP"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    file_time = datetime(2012, 3, 4, 5, 6, 7)
    for name in files:
        os.utime(folder / name, (file_time.timestamp(), file_time.timestamp()))

    outcomes = by_name(ingest_paths([folder]))
    assert {name: outcome.status for name, outcome in outcomes.items()} == {
        name: "added" for name in files
    }
    stored = rows()
    for name in ("zero_denominator.jpg", "off_globe.jpg"):
        assert stored[name].latitude is None and stored[name].taken_at == datetime(2014, 6, 1, 10)
        assert "GPS" in outcomes[name].notes[0]
    assert "off the globe" in stored["off_globe.jpg"].notes[0]
    for name in (
        "zero_date.jpg",
        "future_date.jpg",
        "garbage_exif.jpg",
        "no_exif.png",
        "no_exif.webp",
    ):
        assert (stored[name].taken_at, stored[name].date_source) == (file_time, "file"), name
    assert "not a plausible date" in stored["future_date.jpg"].notes[0]
    assert "not a date" in stored["zero_date.jpg"].notes[0]
    assert (stored["not_a_date.jpg"].taken_at, stored["not_a_date.jpg"].date_source) == (
        datetime(2013, 5, 4, 3, 2, 1),
        "DateTime",
    )
    assert stored["no_exif.webp"].format == "WEBP" and stored["no_exif.png"].format == "PNG"


def test_damaged_and_unreadable_files_are_listed_with_their_reason(library_home, tmp_path):
    folder = tmp_path / "mess"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.jpg").write_bytes(photo(seed=1))
    (folder / "truncated.jpg").write_bytes(photo(seed=2, size=(800, 600))[:3000])
    (folder / "notes.txt").write_text("not a photo")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "phone.heic").write_bytes(
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    )
    (folder / "sub" / "loop").symlink_to(folder)  # a folder loop
    (folder / "self.jpg").symlink_to(folder / "self.jpg")  # a link to itself
    (folder / "dangling.jpg").symlink_to(folder / "gone.jpg")
    # Root ignores permission bits, so an unreadable file is one the kernel refuses to anyone: this
    # process's memory from address 0 answers EIO.
    (folder / "unreadable.jpg").symlink_to("/proc/self/mem")
    (folder / ".hidden.jpg").write_bytes(photo(seed=3))

    outcomes = by_name(ingest_paths([folder]))
    assert outcomes["good.jpg"].status == "added"
    assert ".hidden.jpg" not in outcomes
    expected = {
        "truncated.jpg": ("damaged", "damaged or cut short"),
        "notes.txt": ("damaged", "plain text"),
        "empty.jpg": ("damaged", "empty"),
        "phone.heic": ("damaged", "HEIC images are not supported"),
        "loop": ("skipped", "symbolic link loop"),
        "self.jpg": ("skipped", "symbolic link loop"),
        "dangling.jpg": ("skipped", "A symbolic link to a file that doesn't exist."),
        "unreadable.jpg": ("skipped", "Can't read the file"),
    }
    for name, (status, reason) in expected.items():
        assert outcomes[name].status == status, outcomes[name]
        assert reason in outcomes[name].reason, outcomes[name]
    assert list(rows()) == ["good.jpg"]


def test_a_file_that_vanishes_after_listing(library_home, tmp_path):
    from library import Item, ingest

    (tmp_path / "here.jpg").write_bytes(photo(seed=1))
    outcomes = ingest(
        [Item("here.jpg", tmp_path / "here.jpg"), Item("gone.jpg", tmp_path / "gone.jpg")]
    )
    assert [(outcome.status, outcome.reason) for outcome in outcomes] == [
        ("added", ""),
        ("skipped", "The file vanished before it could be read."),
    ]


def test_duplicates_are_skipped_near_duplicates_grouped_and_reruns_add_only_what_is_new(
    library_home, tmp_path
):
    folder = tmp_path / "photos"
    folder.mkdir()
    original = shape_image("dog", 1, (640, 480))
    (folder / "a.jpg").write_bytes(encode(original, "JPEG", quality=95))
    (folder / "a_copy.jpg").write_bytes((folder / "a.jpg").read_bytes())
    (folder / "b_recompressed.jpg").write_bytes(
        encode(original.resize((600, 450)), "JPEG", quality=60)
    )
    (folder / "c_other.jpg").write_bytes(encode(shape_image("bird", 2, (640, 480)), "JPEG"))

    first = by_name(ingest_paths([folder]))
    a_id = first["a.jpg"].photo_id
    assert first["a.jpg"].status == "added"
    assert (first["a_copy.jpg"].status, first["a_copy.jpg"].reason) == (
        "duplicate",
        f"Already in the library as photo {a_id}.",
    )
    assert (first["b_recompressed.jpg"].status, first["b_recompressed.jpg"].group_id) == (
        "near_duplicate",
        a_id,
    )
    assert first["c_other.jpg"].status == "added"
    with session() as db:
        assert details(db, a_id)["group"] == [first["b_recompressed.jpg"].photo_id]
        assert db.get(LibraryPhoto, a_id).group_id == a_id
        assert db.get(LibraryPhoto, first["c_other.jpg"].photo_id).group_id is None

    (folder / "d_new.jpg").write_bytes(encode(shape_image("cat", 3, (640, 480)), "JPEG"))
    again = by_name(ingest_paths([folder]))
    assert {name: outcome.status for name, outcome in again.items()} == {
        "a.jpg": "duplicate",
        "a_copy.jpg": "duplicate",
        "b_recompressed.jpg": "duplicate",
        "c_other.jpg": "duplicate",
        "d_new.jpg": "added",
    }
    assert len(rows()) == 4


def cat_and_dog(folder: Path) -> Path:
    folder.mkdir()
    for number, shape in enumerate(("cat", "dog")):
        (folder / f"{shape}.jpg").write_bytes(
            encode(shape_image(shape, number, (320, 240)), "JPEG")
        )
    return folder


def touch(path: Path) -> None:
    """A later modification time, even where clocks are coarse: the file no longer looks unchanged."""
    later = os.stat(path).st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))


def test_a_rerun_decodes_only_the_new_files(library_home, tmp_path, monkeypatch):
    """Files the library holds are known by their sha256 before any decoding, even when their
    time stamps changed (so they are read again)."""
    import library.prepare

    folder = cat_and_dog(tmp_path / "photos")
    assert {outcome.status for outcome in ingest_paths([folder])} == {"added"}

    decoded = []
    decode = library.prepare.decode
    monkeypatch.setattr(
        library.prepare, "decode", lambda data, **kw: decoded.append(data) or decode(data, **kw)
    )
    touch(folder / "cat.jpg")
    touch(folder / "dog.jpg")
    (folder / "bird.jpg").write_bytes(encode(shape_image("bird", 2, (320, 240)), "JPEG"))
    again = by_name(ingest_paths([folder]))
    assert {name: outcome.status for name, outcome in again.items()} == {
        "bird.jpg": "added",
        "cat.jpg": "duplicate",
        "dog.jpg": "duplicate",
    }
    assert decoded == [(folder / "bird.jpg").read_bytes()]


def test_a_rerun_reads_only_new_or_changed_files(library_home, tmp_path, monkeypatch):
    """A file added before is skipped unread while its size and modification time are as they
    were; one rewritten since is read again, and its new content added."""
    import library.prepare

    folder = cat_and_dog(tmp_path / "photos")
    first = by_name(ingest_paths([folder]))
    with session() as db:
        cat = db.get(LibraryPhoto, first["cat.jpg"].photo_id)
        stamp = os.stat(folder / "cat.jpg")
        assert (cat.source_size, cat.source_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns)

    read = []
    real_read = library.prepare.read
    monkeypatch.setattr(
        library.prepare, "read", lambda path: read.append(path.name) or real_read(path)
    )
    dog = folder / "dog.jpg"
    dog.write_bytes(encode(shape_image("dog", 5, (320, 240)), "JPEG"))
    touch(dog)
    (folder / "bird.jpg").write_bytes(encode(shape_image("bird", 2, (320, 240)), "JPEG"))
    again = by_name(ingest_paths([folder]))
    assert {name: outcome.status for name, outcome in again.items()} == {
        "bird.jpg": "added",
        "cat.jpg": "duplicate",
        "dog.jpg": "added",
    }
    assert (again["cat.jpg"].reason, again["cat.jpg"].sha256) == (
        f"Already in the library as photo {first['cat.jpg'].photo_id}.",
        first["cat.jpg"].sha256,
    )
    assert sorted(read) == ["bird.jpg", "dog.jpg"]


def test_an_upload_is_dated_as_received_and_may_be_shared(library_home):
    before = datetime.now()
    outcome = ingest_upload("../../phone/cat.jpg", photo(seed=9), shared=True)
    assert outcome.status == "added"
    row = rows()["cat.jpg"]
    assert row.shared and row.source_path is None
    assert row.date_source == "upload" and before <= row.taken_at <= datetime.now()
    again = ingest_upload("cat.jpg", photo(seed=9))
    assert again.status == "duplicate"
    bad = ingest_upload("x.jpg", b"<html>nope</html>")
    assert (bad.status, bad.reason) == (
        "damaged",
        "This is an HTML page, not a photo; use JPEG, PNG, GIF, WebP, BMP or TIFF.",
    )


def test_thumbnails_carry_no_exif(library_home):
    outcome = ingest_upload(
        "p.jpg",
        photo(
            seed=4, size=(1200, 900), exif=make_exif(gps=(48.85, 2.35), taken="2014:06:01 10:00:00")
        ),
    )
    with session() as db:
        sha = db.get(LibraryPhoto, outcome.photo_id).sha256
    thumbnail = Image.open(io.BytesIO(thumbnail_path(sha).read_bytes()))
    assert max(thumbnail.size) == 320
    assert not thumbnail.getexif() and "exif" not in thumbnail.info


def test_ingest_on_postgresql(library_home, tmp_path, monkeypatch, postgres_url):
    """The same content twice in one batch: the second insert meets the unique sha256 inside its
    savepoint, and the batch's other rows still commit."""
    from tests.projects.test_store_backends import fresh_postgres_database

    monkeypatch.setenv("PETCLF_DATABASE_URL", fresh_postgres_database(postgres_url))
    folder = tmp_path / "pg"
    folder.mkdir()
    data = photo(seed=1, exif=make_exif(taken="2014:06:01 10:00:00", gps=(48.8566, 2.3522)))
    (folder / "a.jpg").write_bytes(data)
    (folder / "b_same.jpg").write_bytes(data)
    (folder / "c.jpg").write_bytes(photo("bird", seed=2))
    outcomes = by_name(ingest_paths([folder]))
    assert {name: outcome.status for name, outcome in outcomes.items()} == {
        "a.jpg": "added",
        "b_same.jpg": "duplicate",
        "c.jpg": "added",
    }
    stored = rows()
    assert sorted(stored) == ["a.jpg", "c.jpg"] and stored["a.jpg"].city == "Paris"
    # no zone added or shifted by the database
    assert stored["a.jpg"].taken_at == datetime(2014, 6, 1, 10)


def test_near_duplicates_of_deleted_photos_and_of_other_processes(library_home, tmp_path):
    """The near-duplicate index lives on in this process: it forgets a deleted photo, and it
    learns what another process (here the CLI) added meanwhile."""
    from library import delete
    from tests.cli import run_petclf

    first, second = shape_image("dog", 7, (640, 480)), shape_image("cat", 8, (640, 480))
    gone = ingest_upload("gone.jpg", encode(first, "JPEG", quality=95))
    with session() as db:
        delete(db, gone.photo_id)
    back = ingest_upload("back.jpg", encode(first.resize((600, 450)), "JPEG", quality=60))
    assert (back.status, back.group_id) == ("added", None)

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "theirs.jpg").write_bytes(encode(second, "JPEG", quality=95))
    assert run_petclf("library", "add", tmp_path / "other", env=dict(os.environ)).returncode == 0
    theirs = rows()["theirs.jpg"].id
    mine = ingest_upload("mine.jpg", encode(second.resize((600, 450)), "JPEG", quality=60))
    assert (mine.status, mine.group_id) == ("near_duplicate", theirs)
    assert back.photo_id > gone.photo_id  # ids are never reused
