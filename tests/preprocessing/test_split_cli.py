"""`petclf split`, run as the real console script on preprocessed generated images."""

import csv
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.preprocessing.helpers import (
    assert_one_line_error,
    encoded,
    near_copy,
    photo,
    run_petclf,
    tree_digest,
    write_raw,
)

COUNTS = {"bird": 12, "cat": 20, "dog": 8}


def read_split(dst: Path) -> list[dict]:
    with (dst / "split.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def sides_by_sha(dst: Path) -> dict[str, str]:
    return {row["sha256"]: row["side"] for row in read_split(dst)}


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("split")
    raw = write_raw(root / "raw", COUNTS)
    run_petclf("preprocess", "--src", raw, "--dst", root / "processed")
    return root / "processed"


def test_split_is_stratified_recorded_and_hard_linked(processed: Path, tmp_path: Path):
    dst = tmp_path / "sets"
    result = run_petclf("split", "--src", processed, "--dst", dst)

    rows = read_split(dst)
    assert list(rows[0]) == ["file", "class", "side", "sha256", "group", "seed"]
    for label, count in COUNTS.items():
        test = sorted(p.name for p in (dst / "test" / label).iterdir())
        train = sorted(p.name for p in (dst / "train" / label).iterdir())
        assert len(test) == round(count * 0.25)
        assert sorted(test + train) == sorted(p.name for p in (processed / label).iterdir())
        assert {r["file"] for r in rows if r["class"] == label and r["side"] == "test"} == set(test)
    for row in rows:  # a hard link: the very same file, no extra space
        linked = dst / row["side"] / row["class"] / row["file"]
        assert linked.stat().st_ino == (processed / row["class"] / row["file"]).stat().st_ino
    assert "total" in result.stdout


def test_same_input_and_seed_give_the_same_split_byte_for_byte(processed: Path, tmp_path: Path):
    run_petclf("split", "--src", processed, "--dst", tmp_path / "a")
    run_petclf("split", "--src", processed, "--dst", tmp_path / "b")
    run_petclf("split", "--src", processed, "--dst", tmp_path / "c", "--seed", 7)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert sides_by_sha(tmp_path / "a") != sides_by_sha(tmp_path / "c")


def test_test_ratio_flag(processed: Path, tmp_path: Path):
    run_petclf("split", "--src", processed, "--dst", tmp_path / "half", "--test-ratio", 0.5)
    assert len(list((tmp_path / "half" / "test" / "cat").iterdir())) == 10


def test_near_duplicates_land_on_the_same_side(tmp_path: Path):
    """Near-duplicate pairs straight in the split's input (no preprocess to remove them)."""
    src = tmp_path / "images"
    (src / "cat").mkdir(parents=True)
    for seed in range(12):
        (src / "cat" / f"p{seed:02d}.png").write_bytes(encoded(photo(seed)))
        (src / "cat" / f"p{seed:02d}-again.jpg").write_bytes(near_copy(photo(seed)))

    run_petclf("split", "--src", src, "--dst", tmp_path / "sets")

    rows = {row["file"]: row for row in read_split(tmp_path / "sets")}
    for seed in range(12):
        one, two = rows[f"p{seed:02d}.png"], rows[f"p{seed:02d}-again.jpg"]
        assert one["side"] == two["side"] and one["group"] == two["group"]
    assert sum(row["side"] == "test" for row in rows.values()) == 6
    assert run_petclf("split", "--dst", tmp_path / "sets", "--check").returncode == 0


def test_adding_images_later_moves_none_of_the_split_ones(tmp_path: Path):
    raw = write_raw(tmp_path / "raw", {"cat": 16, "dog": 16})
    run_petclf("preprocess", "--src", raw, "--dst", tmp_path / "processed")
    run_petclf("split", "--src", tmp_path / "processed", "--dst", tmp_path / "sets")
    before = sides_by_sha(tmp_path / "sets")

    # new photos sort first, so every old image gets a new number
    for k, label in enumerate(["cat"] * 8 + ["dog"] * 8):
        (raw / label / f"aa-new{k}.png").write_bytes(encoded(photo(1000 + k)))
    run_petclf("preprocess", "--src", raw, "--dst", tmp_path / "processed", "--force")
    result = run_petclf(
        "split", "--src", tmp_path / "processed", "--dst", tmp_path / "sets", "--force"
    )

    after = sides_by_sha(tmp_path / "sets")
    assert {sha: after[sha] for sha in before} == before
    assert len(after) == 48
    for label in ("cat", "dog"):
        assert len(list((tmp_path / "sets" / "test" / label).iterdir())) == 6  # 25% of 24
    assert "32 kept their side" in result.stdout


def test_check_finds_a_planted_cross_side_near_duplicate(processed: Path, tmp_path: Path):
    dst = tmp_path / "sets"
    run_petclf("split", "--src", processed, "--dst", dst)
    clean = run_petclf("split", "--dst", dst, "--check")
    assert "No near duplicates" in clean.stdout

    test_image = sorted((dst / "test" / "bird").iterdir())[0]
    shutil.copyfile(test_image, dst / "train" / "dog" / "planted.png")
    audit = run_petclf("split", "--dst", dst, "--check", check_ok=False)

    assert audit.returncode == 1
    assert f"train/dog/planted.png ~ test/bird/{test_image.name}" in audit.stdout
    assert_one_line_error(audit, "1 near-duplicate pairs")
    counts = {line.split()[0]: line.split()[1:] for line in audit.stdout.splitlines()[1:5]}
    assert counts["dog"] == ["7", "2"]


@pytest.mark.parametrize(
    "case",
    [
        "missing src",
        "empty class",
        "not empty",
        "forced on a foreign folder",
        "bad ratio",
        "check without split",
        "broken image",
        "dst overlaps src",
    ],
)
def test_bad_input_gives_one_clear_line(case: str, processed: Path, tmp_path: Path):
    src, dst, extra = tmp_path / "processed", tmp_path / "sets", []
    shutil.copytree(processed, src)
    expected = {
        "missing src": "does not exist",
        "empty class": "is empty",
        "not empty": "--force",
        "forced on a foreign folder": "did not write",
        "bad ratio": "between 0 and 1",
        "check without split": "not a split",
        "broken image": "not a usable image",
        "dst overlaps src": "overlaps",
    }[case]
    if case == "missing src":
        src = tmp_path / "nowhere"
    elif case == "empty class":
        (src / "fish").mkdir()
    elif case == "not empty":
        dst.mkdir()
        (dst / "keep.txt").write_text("mine")
    elif case == "forced on a foreign folder":
        dst.mkdir()
        (dst / "keep.txt").write_text("mine")
        extra = ["--force"]
    elif case == "bad ratio":
        extra = ["--test-ratio", "1.5"]
    elif case == "check without split":
        extra = ["--check"]
        dst.mkdir()
    elif case == "broken image":
        (src / "cat" / "cat99.png").write_text("<html>oops</html>")
    elif case == "dst overlaps src":
        dst = src / "sets"

    before = tree_digest(tmp_path)
    result = run_petclf("split", "--src", src, "--dst", dst, *extra, check_ok=False)

    assert_one_line_error(result, expected)
    assert tree_digest(tmp_path) == before
    assert not [p for p in tmp_path.rglob(".*partial*")]


def test_copies_when_the_destination_is_on_another_filesystem(processed: Path, tmp_path: Path):
    """Hard links can't cross filesystems; the split then copies. Shared memory is a separate tmpfs on Linux."""
    shm = Path("/dev/shm")
    elsewhere = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path / "same-fs"
    try:
        run_petclf("split", "--src", processed, "--dst", elsewhere / "sets")
        copied = read_split(elsewhere / "sets")
        assert len(copied) == sum(COUNTS.values())
        for row in copied:
            source = processed / row["class"] / row["file"]
            target = elsewhere / "sets" / row["side"] / row["class"] / row["file"]
            assert target.read_bytes() == source.read_bytes()
            if source.stat().st_dev != target.stat().st_dev:
                assert target.stat().st_nlink == 1  # a copy of its own
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_a_data_folders_readme_is_neither_in_the_way_nor_lost(processed: Path, tmp_path: Path):
    dst = tmp_path / "Test_train_sets"
    dst.mkdir()
    (dst / "README.md").write_text("what goes here\n")

    run_petclf("split", "--src", processed, "--dst", dst)
    run_petclf("split", "--src", processed, "--dst", dst, "--force")

    assert (dst / "README.md").read_text() == "what goes here\n"
    assert sorted(p.name for p in dst.iterdir()) == ["README.md", "split.csv", "test", "train"]
