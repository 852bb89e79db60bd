"""`petclf library add|find|report|export` through the real console entry point, and `kill -9`
in the middle of an ingest."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from PIL import Image

from library.files import thumbnail_path
from store import LibraryPhoto, photo_path, session
from tests.cli import run_petclf
from tests.imagegen import encode, shape_image
from tests.library.exifgen import make_exif, photo

TRIP = [  # name, class drawn, taken, position, orientation
    ("louvre.jpg", "cat", datetime(2014, 6, 2, 10, 0, 0), (48.8606, 2.3376), 1),
    ("versailles.jpg", "dog", datetime(2014, 6, 3, 15, 30, 0), (48.8049, 2.1204), 6),
    ("opera.jpg", "bird", datetime(2014, 7, 30, 20, 0, 5), (-33.8568, 151.2153), 3),
    ("home.png", "cat", None, None, None),
]


def write_trip(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, label, taken, position, orientation in TRIP:
        if name.endswith(".png"):
            (folder / name).write_bytes(photo(label, 1, fmt="PNG"))
            moment = datetime(2014, 6, 1, 8).timestamp()
            os.utime(folder / name, (moment, moment))
        else:
            (folder / name).write_bytes(
                photo(
                    label,
                    2,
                    size=(480, 320),
                    exif=make_exif(taken=taken, gps=position, orientation=orientation),
                )
            )
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    return folder


def test_add_find_report_export(library_env, tmp_path):
    trip = write_trip(tmp_path / "trip")
    added = run_petclf("library", "add", trip, env=library_env)
    assert added.returncode == 1, added.stderr  # one damaged file
    assert "damaged trip/broken.jpg: The JPEG file is damaged" in added.stdout
    assert (
        "4 added (0 near duplicates, grouped), 0 already in the library, 1 damaged, 0 skipped"
        in added.stdout
    )

    found = run_petclf(
        "library",
        "find",
        "--near",
        "48.8566,2.3522",
        "--within-km",
        "25",
        "--json",
        env=library_env,
    )
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["total"] == 2 and [p["name"] for p in answer["photos"]] == [
        "louvre.jpg",
        "versailles.jpg",
    ]
    assert answer["photos"][0]["place"] == "Paris, France"
    dated = json.loads(
        run_petclf(
            "library",
            "find",
            "--from",
            "2014-06-01",
            "--to",
            "2014-06-02",
            "--json",
            env=library_env,
        ).stdout
    )
    assert [p["name"] for p in dated["photos"]] == ["home.png", "louvre.jpg"]
    text = run_petclf("library", "find", "--place", "sydney", env=library_env)
    assert re.search(r"2014-07-30 20:00:05 .* Sydney, Australia · opera.jpg", text.stdout), (
        text.stdout
    )
    assert "1–1 of 1 photos" in text.stdout

    report = tmp_path / "report.html"
    made = run_petclf("library", "report", "--to", "2014-06-30", "--out", report, env=library_env)
    assert made.returncode == 0 and f"{report}: 3 photos" in made.stdout, made.stderr
    page = report.read_text()
    assert page.count("<tr><td><img") == 3 and page.count("data:image/jpeg;base64,") == 3
    assert "<svg" in page and "Photos per month" in page
    # nothing fetched
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page
    # home.png is dated by its file time, and says so
    assert "Paris, France" in page and "from file" in page

    dest = tmp_path / "by-date"
    exported = run_petclf("library", "export", "--rename-by-date", dest, env=library_env)
    assert exported.returncode == 0, exported.stderr
    names = sorted(os.listdir(dest))
    with session() as db:
        labels = {p.original_name: p.label for p in db.query(LibraryPhoto)}
    assert names == [
        f"2014-06-01_080000_{labels['home.png']}.png",
        f"2014-06-02_100000_{labels['louvre.jpg']}.jpg",
        f"2014-06-03_153000_{labels['versailles.jpg']}.jpg",
        f"2014-07-30_200005_{labels['opera.jpg']}.jpg",
        "metadata.csv",
    ]
    versailles, opera = Image.open(dest / names[2]), Image.open(dest / names[3])
    # turned upright, tag reset
    assert versailles.size == (320, 480) and versailles.getexif().get(0x0112) == 1
    assert (
        opera.size == (480, 320)
        and (dest / names[1]).read_bytes() == (trip / "louvre.jpg").read_bytes()
    )
    assert os.path.getmtime(dest / names[1]) == datetime(2014, 6, 2, 10).timestamp()
    with (dest / "metadata.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [row["file"] for row in table] == names[:4]
    assert table[1]["city"] == "Paris" and float(table[1]["latitude"]) == 48.8606

    again = run_petclf("library", "export", "--rename-by-date", dest, env=library_env)
    assert again.returncode == 1 and "use --force" in again.stderr
    assert (
        run_petclf(
            "library",
            "export",
            "--rename-by-date",
            dest,
            "--force",
            "--class",
            "nothing",
            env=library_env,
        ).returncode
        == 0
    )
    assert os.listdir(dest) == ["metadata.csv"]


def test_bad_flags_are_one_line_each(library_env, tmp_path):
    for args, message in [
        (("find", "--near", "48.8,2.3"), "'near' (LAT,LON) and 'within_km' go together"),
        (("find", "--from", "2014-31-01"), "'from' must be a date as YYYY-MM-DD"),
        (("find", "--near", "95,2", "--within-km", "3"), "'near' is off the globe"),
        (
            ("report", "--out", tmp_path / "r.html", "--within-km", "abc", "--near", "1,2"),
            "'within_km' must be a distance",
        ),
        (("add", tmp_path / "missing"), "does not exist"),
    ]:
        done = run_petclf("library", *args, env=library_env)
        assert done.returncode == 1, done
        assert (
            done.stderr.count("\n") == 1
            and message in done.stderr
            and "Traceback" not in done.stderr
        ), done.stderr


def test_kill_9_mid_ingest_loses_nothing_reported_added(library_env, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    count = 120
    for number in range(count):
        label = ("cat", "dog", "bird")[number % 3]
        (folder / f"{number:03d}.jpg").write_bytes(
            encode(shape_image(label, 100 + number, (1200, 900)), "JPEG", quality=90)
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "petclf", "library", "add", folder, "--json", "--workers", "1"],
        env=library_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    reported = []
    for line in process.stdout:
        reported.append(json.loads(line))
        if len(reported) >= 5:
            break
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    added = {
        outcome["sha256"]: outcome["photo_id"]
        for outcome in reported
        if outcome["status"] == "added"
    }
    assert len(added) >= 5
    with session() as db:
        stored = {p.sha256: p.id for p in db.query(LibraryPhoto)}
    assert len(stored) < count
    for sha, photo_id in added.items():
        assert stored[sha] == photo_id
        assert photo_path(sha).is_file() and thumbnail_path(sha).is_file()

    rerun = run_petclf("library", "add", folder, "--json", env=library_env)
    assert rerun.returncode == 0, rerun.stderr
    outcomes = [json.loads(line) for line in rerun.stdout.splitlines()]
    assert {o["sha256"] for o in outcomes if o["status"] == "duplicate"} == set(stored)
    assert sum(o["status"] in ("added", "near_duplicate") for o in outcomes) == count - len(stored)
    with session() as db:
        assert db.query(LibraryPhoto).count() == count
