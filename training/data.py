"""Data for training and evaluation: class folders → images through the one image path → tf.data.

Every image is read by `preprocessing.load_padded` (the only decoder in the project), so the
model sees exactly what the web page, the API and the bot will give it.
"""

import csv
import random
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classifier.card import sha256_file
from preprocessing import IMAGE_SIZE, ImageError, load_padded, to_array

# every visible file; decoding decides which are images
from preprocessing.dataset import (
    class_files,
)
from training.errors import DataError

SPLIT_SIDES = ("train", "test")
SPLIT_CSV = "split.csv"


@dataclass(frozen=True)
class Example:
    path: Path
    label: int  # index into the sorted class names; -1 for out-of-distribution photos


@dataclass
class Images:
    """Decoded, padded images (uint8, N×240×240×3) with their labels and where they came from."""

    pixels: np.ndarray
    labels: np.ndarray
    paths: list[Path]
    skipped: list[tuple[Path, str]]  # files that are not usable images, with the reason

    def __len__(self) -> int:
        return len(self.paths)


def class_folders(root: Path) -> list[Path]:
    """The class sub-folders of `root`, sorted by name; at least two, none empty."""
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(folders) < 2:
        found = f"only {folders[0].name}" if folders else "none"
        raise DataError(
            f"{root} needs at least two class folders to train a classifier (found {found})"
        )
    for folder in folders:
        if not class_files(folder):
            raise DataError(f"the class folder {folder} is empty; add images or remove it")
    return folders


def split_sides(data: Path) -> tuple[Path, Path | None]:
    """(train folder, test folder or None) of a split made by `petclf split`."""
    if not data.is_dir():
        raise DataError(f"the data folder {data} does not exist; run `petclf split` first")
    train = data / "train"
    if not train.is_dir():
        raise DataError(
            f"{data} is not a split: it has no train/ folder (run `petclf split` first)"
        )
    test = data / "test"
    return train, (test if test.is_dir() else None)


def split_seed(data: Path) -> int | None:
    """The seed `petclf split` recorded in split.csv, if it did."""
    try:
        with (data / SPLIT_CSV).open(newline="", encoding="utf-8") as handle:
            seeds = {row.get("seed") for row in csv.DictReader(handle)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    seeds.discard(None)
    return int(seeds.pop()) if len(seeds) == 1 and next(iter(seeds)).isdigit() else None


def labelled_examples(root: Path, labels: list[str]) -> list[Example]:
    """Every file of each class folder of `root`, labelled by its index in `labels`; absent folders are skipped."""
    return [
        Example(path, index)
        for index, label in enumerate(labels)
        if (root / label).is_dir()
        for path in class_files(root / label)
    ]


def carve_validation(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """A seeded, stratified (train, validation) split: at least one validation image per class."""
    if not 0 < fraction < 1:
        raise DataError(f"the validation fraction must be between 0 and 1, got {fraction:g}")
    by_class: dict[int, list[Example]] = {}
    for example in examples:
        by_class.setdefault(example.label, []).append(example)
    rng = random.Random(seed)
    train, validation = [], []
    for label in sorted(by_class):
        members = sorted(by_class[label], key=lambda e: e.path.name)
        if len(members) < 2:
            raise DataError(
                f"the class folder {members[0].path.parent} needs at least two images (one for validation)"
            )
        rng.shuffle(members)
        count = min(len(members) - 1, max(1, round(fraction * len(members))))
        validation += members[:count]
        train += members[count:]
    return train, validation


def ood_examples(root: Path) -> list[Example]:
    """Every file under an out-of-distribution folder (any depth), labelled -1."""
    if not root.is_dir():
        raise DataError(f"the out-of-distribution folder {root} does not exist")
    files = class_files(root)
    if not files:
        raise DataError(f"the out-of-distribution folder {root} has no files")
    return [Example(path, -1) for path in files]


# Of the exposure photos, this share checks the outlier-exposure loss during training (early stopping).
OOD_VALIDATION_SHARE = 0.2


def ood_part(path: Path, exposure_fraction: float) -> str:
    """Which part an OOD photo belongs to: "exposure" (trained on), "validation" (early stopping),
    or "heldout" (only measures the false-accept rate).

    Decided by the file's content, so `petclf evaluate` can leave the photos training saw out of its
    false-accept rate without any list being stored.
    """
    if exposure_fraction <= 0:
        return "heldout"
    position = ood_position(path)
    if position >= exposure_fraction:
        return "heldout"
    return "validation" if position < exposure_fraction * OOD_VALIDATION_SHARE else "exposure"


def ood_position(path: Path) -> float:
    """Where the file's content falls in [0, 1): the first 32 bits of its sha256."""
    return int(sha256_file(path)[:8], 16) / 0x100000000


# How often load_images reports to its `on_loaded` callback.
LOADED_REPORT_EVERY = 10


def load_images(
    examples: list[Example], description: str, workers: int = 4, on_loaded=None
) -> Images:
    """Decode and pad every example through the one image path, with a progress bar.

    `on_loaded(count)`, if given, hears how many of these examples are done, every few images and at the end.
    """

    def load(example: Example):
        try:
            return to_array(load_padded(example.path)).astype(np.uint8), None
        except ImageError as exc:
            return None, str(exc)

    pixels, labels, paths, skipped = [], [], [], []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(load, examples)
        for done, (example, (array, problem)) in enumerate(
            tqdm(
                zip(examples, results),
                total=len(examples),
                desc=description,
                unit="img",
                file=sys.stderr,
                disable=None,
            ),
            start=1,
        ):
            if on_loaded is not None and (done % LOADED_REPORT_EVERY == 0 or done == len(examples)):
                on_loaded(done)
            if array is None:
                skipped.append((example.path, problem))
                continue
            pixels.append(array)
            labels.append(example.label)
            paths.append(example.path)
    shape = (0, IMAGE_SIZE, IMAGE_SIZE, 3)
    return Images(
        pixels=np.stack(pixels) if pixels else np.zeros(shape, np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        paths=paths,
        skipped=skipped,
    )


def count_per_class(labels: np.ndarray, names: list[str]) -> dict[str, int]:
    counts = Counter(int(label) for label in labels)
    return {name: counts.get(index, 0) for index, name in enumerate(names)}


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weights (mean 1 over the images) so small classes count as much as big ones."""
    counts = np.bincount(labels[labels >= 0], minlength=num_classes).astype(np.float64)
    if (counts == 0).any():
        raise DataError(
            "every class needs at least one training image after the validation carve-out"
        )
    return counts.sum() / (num_classes * counts)


def soft_targets(labels: np.ndarray, num_classes: int, outlier_class: bool = False) -> np.ndarray:
    """One-hot rows for class images; for OOD images (label -1) the outlier-exposure target: a
    uniform row, or with `outlier_class` one more column, their own class."""
    if outlier_class:
        return np.eye(num_classes + 1, dtype=np.float32)[np.where(labels >= 0, labels, num_classes)]
    targets = np.full((len(labels), num_classes), 1.0 / num_classes, dtype=np.float32)
    known = labels >= 0
    targets[known] = np.eye(num_classes, dtype=np.float32)[labels[known]]
    return targets


def sample_weights(
    labels: np.ndarray, weights_per_class: np.ndarray, ood_weight: float
) -> np.ndarray:
    weights = np.full(len(labels), ood_weight, dtype=np.float32)
    known = labels >= 0
    weights[known] = weights_per_class[labels[known]]
    return weights


def make_dataset(
    inputs,
    targets,
    weights=None,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    drop_remainder: bool = False,
):
    """tf.data: in-memory tensors → cache → shuffle (seeded, per epoch) → batch → prefetch.

    Images stay uint8 until they are batched, to keep the cache four times smaller.
    """
    import tensorflow as tf

    parts = (inputs, targets) if weights is None else (inputs, targets, weights)
    dataset = tf.data.Dataset.from_tensor_slices(parts).cache()
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if np.asarray(inputs).dtype == np.uint8:
        dataset = dataset.map(
            lambda x, *rest: (tf.cast(x, tf.float32), *rest), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
