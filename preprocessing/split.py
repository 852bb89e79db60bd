"""The split stage: processed class folders → seeded, stratified, leakage-free train/test sets.

An image is known by the sha256 of its content, so renumbering by a later preprocess run does
not change its identity. Near-duplicate groups (perceptual hash) always go to one side. Each
group gets a seeded score; within each class, groups fill the test side in score order up to
the target ratio. Sides recorded in an existing split.csv (same seed) are kept, so adding
images later never moves the ones already split: a test set stays a test set.
"""

import contextlib
import csv
import hashlib
import os
import shutil
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from preprocessing.dataset import (
    DEFAULT_HASH_THRESHOLD,
    check_destination,
    class_files,
    class_listing,
    cross_pairs,
    ignore_interrupts,
    near_duplicate_groups,
    perceptual_hash,
    sha256_hex,
    staged_output,
    write_csv,
)
from preprocessing.errors import DatasetError, ImageError
from preprocessing.image import decode

SIDES = ("train", "test")
DEFAULT_TEST_RATIO = 0.25
DEFAULT_SEED = 1
SPLIT_FIELDS = ("file", "class", "side", "sha256", "group", "seed")
SPLIT_CSV = "split.csv"


@dataclass(frozen=True)
class Item:
    label: str
    name: str  # path inside the class folder
    path: Path
    sha256: str
    phash: str


@dataclass
class SplitResult:
    counts: dict[str, Counter] = field(default_factory=dict)  # class → {"train": n, "test": n}
    kept_sides: int = 0  # images whose side came from the previous split.csv


@dataclass
class CheckResult:
    counts: dict[str, Counter]
    leaks: list[tuple[str, str, int]]  # (train file, test file, hash distance)


def split(
    src: Path,
    dst: Path,
    *,
    test_ratio: float = DEFAULT_TEST_RATIO,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    hash_threshold: int = DEFAULT_HASH_THRESHOLD,
) -> SplitResult:
    """Split `src/<class>/*` into `dst/{train,test}/<class>/` and record it in `dst/split.csv`."""
    if not 0 < test_ratio < 1:
        raise DatasetError(f"The test ratio must be between 0 and 1 (got {test_ratio:g}).")
    listed = [(folder.name, folder, path) for folder, files in class_listing(src) for path in files]
    check_destination(src, dst, force, marker=SPLIT_CSV)
    items = _hash_items(listed)
    previous = _previous_sides(dst / SPLIT_CSV, seed) if force else {}
    groups = near_duplicate_groups([item.phash for item in items], hash_threshold)
    sides, group_keys = _assign(items, groups, previous, test_ratio, seed)

    result = SplitResult()
    with staged_output(dst) as staging:
        for label in sorted({item.label for item in items}):
            for side in SIDES:
                (staging / side / label).mkdir(parents=True)
        rows = []
        for i, item in enumerate(items):
            target = staging / sides[i] / item.label / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(item.path, target)
            rows.append((item.name, item.label, sides[i], item.sha256, group_keys[i][:12], seed))
            result.counts.setdefault(item.label, Counter())[sides[i]] += 1
            result.kept_sides += item.sha256 in previous
        write_csv(staging / SPLIT_CSV, SPLIT_FIELDS, rows)
    return result


def check(dst: Path, *, hash_threshold: int = DEFAULT_HASH_THRESHOLD) -> CheckResult:
    """Count an existing split per class and side, and find near duplicates across the sides."""
    if not all((dst / side).is_dir() for side in SIDES):
        raise DatasetError(
            f"{dst} is not a split: it needs train/ and test/ folders (run petclf split)."
        )
    listed: list[tuple[str, Path, Path]] = []
    for side in SIDES:
        for folder in sorted(
            p for p in (dst / side).iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            listed.extend((f"{side}/{folder.name}", folder, path) for path in class_files(folder))
    items = _hash_items(listed)
    counts: dict[str, Counter] = {}
    for item in items:
        side, label = item.label.split("/", 1)
        counts.setdefault(label, Counter())[side] += 1
    train = [item for item in items if item.label.startswith("train/")]
    test = [item for item in items if item.label.startswith("test/")]
    pairs = cross_pairs([i.phash for i in train], [i.phash for i in test], hash_threshold)
    leaks = [
        (f"{train[i].label}/{train[i].name}", f"{test[j].label}/{test[j].name}", d)
        for i, j, d in pairs
    ]
    return CheckResult(counts=dict(sorted(counts.items())), leaks=leaks)


def _hash_items(listed: list[tuple[str, Path, Path]]) -> list[Item]:
    """Hash every (label, class folder, file), in parallel when there are many."""
    paths = [path for _, _, path in listed]
    workers = min(os.cpu_count() or 1, max(1, len(paths) // 200))
    pool_or_none = (
        ProcessPoolExecutor(workers, initializer=ignore_interrupts) if workers > 1 else None
    )
    with pool_or_none or contextlib.nullcontext() as pool:
        results = pool.map(_hash_file, paths, chunksize=32) if pool else map(_hash_file, paths)
        hashes = list(tqdm(results, total=len(paths), unit="img", desc="hashing", disable=None))
    return [
        Item(label, path.relative_to(folder).as_posix(), path, sha, phash)
        for (label, folder, path), (sha, phash) in zip(listed, hashes, strict=True)
    ]


def _hash_file(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    try:
        image = decode(data).image
    except ImageError as exc:
        raise DatasetError(
            f"{path} is not a usable image ({exc}); run petclf preprocess first."
        ) from None
    return sha256_hex(data), perceptual_hash(image)


def _previous_sides(split_csv: Path, seed: int) -> dict[str, str]:
    """sha256 → side from an earlier split with the same seed; nothing if absent or unreadable."""
    try:
        with split_csv.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return {
        row["sha256"]: row["side"]
        for row in rows
        if row.get("seed") == str(seed) and row.get("side") in SIDES and row.get("sha256")
    }


def _assign(
    items: list[Item], groups: list[int], previous: dict[str, str], test_ratio: float, seed: int
) -> tuple[list[str], list[str]]:
    """Each item's side and its group key: recorded sides first, then new groups by seeded score."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    key = {group: min(items[i].sha256 for i in ids) for group, ids in members.items()}

    side_of: dict[int, str] = {}
    for group, ids in members.items():
        recorded = Counter(previous[items[i].sha256] for i in ids if items[i].sha256 in previous)
        # a group that joined earlier sides keeps the majority; a tie keeps the test side
        if recorded:
            side_of[group] = "test" if recorded["test"] >= recorded["train"] else "train"

    class_sizes = Counter(item.label for item in items)
    test_counts: Counter[str] = Counter()
    for group, side in side_of.items():
        if side == "test":
            test_counts.update(items[i].label for i in members[group])

    def score(group: int) -> str:
        return hashlib.sha256(f"{seed}:{key[group]}".encode()).hexdigest()

    for group in sorted((g for g in members if g not in side_of), key=score):
        ids = members[group]
        label = Counter(items[i].label for i in ids).most_common(1)[0][0]
        target = int(test_ratio * class_sizes[label] + 0.5)
        in_class = sum(1 for i in ids if items[i].label == label)
        if test_counts[label] + in_class <= target:
            side_of[group] = "test"
            test_counts.update(items[i].label for i in ids)
        else:
            side_of[group] = "train"
    return [side_of[g] for g in groups], [key[g] for g in groups]


def stable_side(
    sha256: str, test_ratio: float = DEFAULT_TEST_RATIO, seed: int = DEFAULT_SEED
) -> str:
    """The side of one photo arriving alone (a project upload): the same seeded score of its content
    hash that orders groups above, read as a fraction. It never changes, so a test photo stays one."""
    fraction = int(hashlib.sha256(f"{seed}:{sha256}".encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return "test" if fraction < test_ratio else "train"


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the filesystem allows it (no extra space), a copy otherwise."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
