"""`petclf preprocess`, run as the real console script on generated images."""

import csv
import os
import resource
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.cli import PETCLF
from tests.preprocessing.helpers import (
    assert_one_line_error,
    encoded,
    near_copy,
    photo,
    png_chunk,
    run_petclf,
    tree_digest,
    write_raw,
)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def fake_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but carries almost no pixels: a pixel bomb that costs nothing."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """cat: 3 pictures in three formats and sizes; dog: 2 pictures."""
    root = tmp_path / "raw"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    (root / "cat" / "b.jpg").write_bytes(encoded(photo(1, (640, 480)), "JPEG", quality=90))
    (root / "cat" / "a.png").write_bytes(encoded(photo(2, (100, 300))))
    (root / "cat" / "c.webp").write_bytes(encoded(photo(3, (240, 240)), "WEBP", lossless=True))
    (root / "dog" / "x.gif").write_bytes(encoded(photo(4, (200, 150)).convert("P"), "GIF"))
    (root / "dog" / "y.bmp").write_bytes(encoded(photo(5, (90, 90)), "BMP"))
    (root / "manifest.csv").write_text("a scraper's manifest beside the class folders is ignored\n")
    return root


def test_writes_numbered_padded_pngs_manifest_and_leaves_sources_alone(raw: Path, tmp_path: Path):
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in raw.rglob("*") if p.is_file()}
    dst = tmp_path / "processed"

    result = run_petclf("preprocess", "--src", raw, "--dst", dst, "--workers", 2)

    assert sorted(tree_digest(dst)) == [
        "cat/cat1.png",
        "cat/cat2.png",
        "cat/cat3.png",
        "dog/dog1.png",
        "dog/dog2.png",
        "manifest.csv",
        "rejected.csv",
    ]
    for png in dst.glob("*/*.png"):
        with Image.open(png) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (240, 240))
    manifest = read_csv(dst / "manifest.csv")
    # numbered in sorted source order
    assert [(row["file"], row["source"]) for row in manifest] == [
        ("cat/cat1.png", "cat/a.png"),
        ("cat/cat2.png", "cat/b.jpg"),
        ("cat/cat3.png", "cat/c.webp"),
        ("dog/dog1.png", "dog/x.gif"),
        ("dog/dog2.png", "dog/y.bmp"),
    ]
    assert [row["original_size"] for row in manifest] == [
        "100x300",
        "640x480",
        "240x240",
        "200x150",
        "90x90",
    ]
    digests = tree_digest(dst)
    assert all(digests[row["file"]] == row["sha256"] for row in manifest)
    assert all(len(row["phash"]) == 16 for row in manifest)
    assert read_csv(dst / "rejected.csv") == []
    # tall source: white bars left and right, picture in the middle
    with Image.open(dst / "cat" / "cat1.png") as tall:
        assert tall.getpixel((5, 120)) == (255, 255, 255) and tall.getpixel((234, 120)) == (
            255,
            255,
            255,
        )
        assert tall.getpixel((120, 120)) != (255, 255, 255)
    assert "cat" in result.stdout and "kept" in result.stdout
    assert {
        p: (p.stat().st_mtime_ns, p.read_bytes()) for p in raw.rglob("*") if p.is_file()
    } == before
    # no staging left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "processed",
        "raw",
    ]


def test_broken_and_unsupported_files_are_listed_and_skipped(raw: Path, tmp_path: Path):
    cat = raw / "cat"
    (cat / "notes.jpg").write_text("just some text, named like a photo")
    (cat / "page.png").write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    (cat / "empty.jpg").write_bytes(b"")
    (cat / "bomb.png").write_bytes(fake_png_header(10_000, 10_000))
    (cat / "cut.jpg").write_bytes(encoded(photo(9, (400, 300)), "JPEG")[:600])
    (cat / "gone.jpg").symlink_to(tmp_path / "vanished.jpg")  # listed, then missing when read
    (cat / "real-png.jpg").write_bytes(encoded(photo(8)))  # lying extension: still used
    dst = tmp_path / "processed"

    result = run_petclf("preprocess", "--src", raw, "--dst", dst)

    rejected = {row["file"]: row for row in read_csv(dst / "rejected.csv")}
    assert {f: r["category"] for f, r in rejected.items()} == {
        "cat/bomb.png": "too_large",
        "cat/cut.jpg": "corrupt",
        "cat/empty.jpg": "unsupported",
        "cat/gone.jpg": "unreadable",
        "cat/notes.jpg": "unsupported",
        "cat/page.png": "unsupported",
    }
    assert "plain text" in rejected["cat/notes.jpg"]["reason"]
    assert "HTML" in rejected["cat/page.png"]["reason"]
    assert "megapixels" in rejected["cat/bomb.png"]["reason"]
    assert [
        row["source"] for row in read_csv(dst / "manifest.csv") if row["file"].startswith("cat/")
    ] == ["cat/a.png", "cat/b.jpg", "cat/c.webp", "cat/real-png.jpg"]
    summary = next(line.split() for line in result.stdout.splitlines() if line.startswith("cat "))
    assert summary == ["cat", "10", "4", "6", "0", "0"]  # files kept broken duplicates conflicts


def test_exact_and_near_duplicates_keep_the_first_in_source_order(raw: Path, tmp_path: Path):
    original = photo(1, (640, 480))
    (raw / "cat" / "e-copy.jpg").write_bytes((raw / "cat" / "b.jpg").read_bytes())
    (raw / "cat" / "d-reupload.jpg").write_bytes(near_copy(original))
    dst = tmp_path / "processed"

    run_petclf("preprocess", "--src", raw, "--dst", dst)

    rejected = {row["file"]: row for row in read_csv(dst / "rejected.csv")}
    assert rejected["cat/e-copy.jpg"]["category"] == "duplicate"
    assert "cat/b.jpg" in rejected["cat/e-copy.jpg"]["reason"]
    assert rejected["cat/d-reupload.jpg"]["category"] == "near_duplicate"
    assert "cat/b.jpg" in rejected["cat/d-reupload.jpg"]["reason"]
    assert len(list((dst / "cat").iterdir())) == 3

    # the threshold is the user's: at its maximum every picture of a class is "the same" as the first
    shutil.rmtree(raw / "dog")
    loose = tmp_path / "loose"
    run_petclf("preprocess", "--src", raw, "--dst", loose, "--hash-threshold", 64)
    assert [row["source"] for row in read_csv(loose / "manifest.csv")] == ["cat/a.png"]


def test_the_same_picture_in_two_classes_is_a_conflict_left_out_of_both(raw: Path, tmp_path: Path):
    shutil.copyfile(raw / "cat" / "b.jpg", raw / "dog" / "z.jpg")
    dst = tmp_path / "processed"

    result = run_petclf("preprocess", "--src", raw, "--dst", dst)

    rejected = {row["file"]: row for row in read_csv(dst / "rejected.csv")}
    assert (
        rejected["cat/b.jpg"]["category"] == rejected["dog/z.jpg"]["category"] == "label_conflict"
    )
    assert "dog/z.jpg" in rejected["cat/b.jpg"]["reason"]
    assert [row["source"] for row in read_csv(dst / "manifest.csv")] == [
        "cat/a.png",
        "cat/c.webp",
        "dog/x.gif",
        "dog/y.bmp",
    ]
    assert sorted(p.name for p in (dst / "cat").iterdir()) == ["cat1.png", "cat2.png"]
    conflicts = {line.split()[0]: line.split()[5] for line in result.stdout.splitlines()[1:3]}
    assert conflicts == {"cat": "1", "dog": "1"}


def test_output_is_byte_for_byte_deterministic_whatever_the_worker_count(tmp_path: Path):
    raw = write_raw(tmp_path / "raw", {"bird": 12, "cat": 10})
    run_petclf("preprocess", "--src", raw, "--dst", tmp_path / "one", "--workers", 1)
    run_petclf("preprocess", "--src", raw, "--dst", tmp_path / "two", "--workers", 2)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    assert len(tree_digest(tmp_path / "one")) == 24


def test_refuses_a_non_empty_destination_unless_forced(raw: Path, tmp_path: Path):
    dst = tmp_path / "processed"
    dst.mkdir()
    (dst / "old.txt").write_text("someone's work")

    refused = run_petclf("preprocess", "--src", raw, "--dst", dst, check_ok=False)
    assert_one_line_error(refused, "not empty", "--force")
    # not even --force replaces a folder that preprocess did not write
    forced = run_petclf("preprocess", "--src", raw, "--dst", dst, "--force", check_ok=False)
    assert_one_line_error(forced, "did not write")
    assert (dst / "old.txt").read_text() == "someone's work"

    (dst / "old.txt").unlink()
    run_petclf("preprocess", "--src", raw, "--dst", dst)
    (raw / "dog" / "y.bmp").unlink()
    (dst / "dog" / "stale.png").write_bytes(b"left from an earlier run")
    run_petclf("preprocess", "--src", raw, "--dst", dst, "--force")
    assert sorted(p.name for p in (dst / "dog").iterdir()) == ["dog1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed", "raw"]


def test_size_flag_sets_the_output_side(raw: Path, tmp_path: Path):
    run_petclf("preprocess", "--src", raw, "--dst", tmp_path / "small", "--size", 64)
    with Image.open(tmp_path / "small" / "dog" / "dog1.png") as image:
        assert image.size == (64, 64)


def unwritable_parent(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permission bits; the kernel's sysfs still refuses
        return Path("/sys/petclf-test")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


@pytest.mark.parametrize(
    "case",
    [
        "missing src",
        "src is a file",
        "no class folders",
        "empty class",
        "nothing usable",
        "dst inside src",
        "unwritable dst",
        "dst is a file",
    ],
)
def test_bad_input_gives_one_clear_line_and_writes_nothing(case: str, raw: Path, tmp_path: Path):
    src, dst = raw, tmp_path / "out" / "processed"
    expected = {
        "missing src": "does not exist",
        "src is a file": "is a file",
        "no class folders": "no class folders",
        "empty class": "is empty",
        "nothing usable": "no usable images",
        "dst inside src": "overlaps",
        "unwritable dst": "write",
        "dst is a file": "is a file",
    }[case]
    if case == "missing src":
        src = tmp_path / "nowhere"
    elif case == "src is a file":
        src = raw / "cat" / "a.png"
    elif case == "no class folders":
        src = tmp_path / "flat"
        src.mkdir()
        (src / "a.png").write_bytes(encoded(photo(1)))
    elif case == "empty class":
        (raw / "hamster").mkdir()
    elif case == "nothing usable":
        (raw / "fish").mkdir()
        (raw / "fish" / "a.jpg").write_text("not a fish")
        (raw / "fish" / "b.png").write_bytes(b"")
    elif case == "dst inside src":
        dst = raw / "processed"
    elif case == "unwritable dst":
        dst = unwritable_parent(tmp_path) / "processed"
    elif case == "dst is a file":
        dst.parent.mkdir()
        dst.write_text("a file")

    before = tree_digest(tmp_path)
    result = run_petclf("preprocess", "--src", src, "--dst", dst, check_ok=False)

    assert_one_line_error(result, expected)
    assert result.stderr.startswith("petclf preprocess: error: ")
    assert tree_digest(tmp_path) == before  # nothing written, nothing half-written
    assert not [p for p in tmp_path.rglob(".*partial*")]


def test_ctrl_c_mid_run_leaves_no_partial_output(tmp_path: Path):
    raw = write_raw(tmp_path / "raw", {"cat": 150})
    dst = tmp_path / "processed"
    # a process group of its own, so the signal reaches the workers too, as Ctrl-C in a terminal does
    run = subprocess.Popen(
        [str(PETCLF), "preprocess", "--src", raw, "--dst", dst, "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    deadline = time.monotonic() + 60
    while (
        not list(tmp_path.glob(".processed.partial-*/.work/*.png")) and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    os.killpg(run.pid, signal.SIGINT)
    _, stderr = run.communicate(timeout=120)

    assert run.returncode == 130
    assert stderr.strip() == "petclf preprocess: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_a_write_failure_stops_the_run_and_leaves_nothing_behind(raw: Path, tmp_path: Path):
    """A file-size limit makes every output write fail, as a full disk would."""

    def limit_file_size():
        # fail the write with EFBIG instead of killing
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = subprocess.run(
        [str(PETCLF), "preprocess", "--src", str(raw), "--dst", str(tmp_path / "processed")],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit_file_size,
    )

    assert_one_line_error(result, "Can't write the output", "File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]
