"""`petclf tags mosaic`: photos of several classes in one picture, tagged with the classes in it.

Each mosaic is a 2×1 (480×240) or 2×2 (480×480) grid of photos from class folders, every photo
padded to 240×240 through the one image path; its tags are the classes of its cells. Seeded, so
the same sources and seed give the same mosaics. Compose the train side's mosaics from the
split's train photos and the test side's from its test photos, and no test photo is trained on.
"""

import random
import sys
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from preprocessing import IMAGE_SIZE, DatasetError, ImageError, load_padded
from preprocessing.dataset import class_listing
from training.errors import DataError
from training.tag_labels import write_tag_labels

LAYOUTS = {"2x1": (2, 1), "2x2": (2, 2)}  # columns, rows
LABELS_FILE = "tags.csv"
JPEG_QUALITY = 92


class MosaicError(DataError):
    """Mosaics can't be made from the sources as given."""


def compose_mosaics(src: Path, out: Path, count: int | None = None, seed: int = 1) -> Path:
    """Write `count` mosaics (default: one per source photo) and out/tags.csv; return its path."""
    pools = _pools(src)
    count = sum(map(len, pools.values())) if count is None else count
    if count < 1:
        raise MosaicError("--count must be at least 1")
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for number in tqdm(range(1, count + 1), desc="mosaics", unit="img", file=sys.stderr):
        layout = rng.choice(sorted(LAYOUTS))
        columns, lines = LAYOUTS[layout]
        classes = [rng.choice(sorted(pools)) for _ in range(columns * lines)]
        mosaic = Image.new("RGB", (columns * IMAGE_SIZE, lines * IMAGE_SIZE), "white")
        for cell, label in enumerate(classes):
            photo = _photo(pools, label, rng)
            mosaic.paste(photo, ((cell % columns) * IMAGE_SIZE, (cell // columns) * IMAGE_SIZE))
        name = f"mosaic{number:05d}_{layout}.jpg"
        mosaic.save(out / name, "JPEG", quality=JPEG_QUALITY)
        rows.append((name, sorted(set(classes))))
    labels = out / LABELS_FILE
    write_tag_labels(labels, rows)
    return labels


def _pools(src: Path) -> dict[str, list[Path]]:
    try:
        listing = class_listing(src)
    except DatasetError as exc:
        raise MosaicError(str(exc)) from None
    if len(listing) < 2:
        raise MosaicError(
            f"{src} has {len(listing)} class folder; mosaics need at least two classes to mix"
        )
    return {folder.name: list(files) for folder, files in listing}


def _photo(pools: dict[str, list[Path]], label: str, rng: random.Random) -> Image.Image:
    """A random usable photo of the class, padded; files that are not images leave the pool."""
    pool = pools[label]
    while pool:
        path = rng.choice(pool)
        try:
            return load_padded(path)
        except ImageError:
            pool.remove(path)
    raise MosaicError(f"the class folder {label} has no usable images")
