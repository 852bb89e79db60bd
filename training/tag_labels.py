"""tags.csv: one photo per row, `file,tag1;tag2;…`, with an optional `file,tags` header.

A file is found relative to the CSV's folder, else relative to the data folder. Every problem
is one line that names the row: an unknown file, an empty tag list, a photo listed twice, a tag
on a single photo (it could not be both trained on and validated), a file that is not UTF-8.
"""

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.errors import DataError

HEADER = ("file", "tags")
TAG_SEPARATOR = ";"
MIN_PHOTOS_PER_TAG = 2


class TagLabelsError(DataError):
    """A labels file can't be used as given."""


@dataclass(frozen=True)
class TagLabels:
    names: list[str]  # as the file writes them
    paths: list[Path]
    tags: list[str]  # sorted: the model's outputs, in order
    targets: np.ndarray  # photos × tags, 1.0 where the photo has the tag

    def __len__(self) -> int:
        return len(self.paths)


def read_tag_labels(
    csv_path: Path, data: Path | None = None, min_photos: int = MIN_PHOTOS_PER_TAG
) -> TagLabels:
    """The photos and tags of a labels file, checked (TagLabelsError names the first problem).

    `min_photos`: how many photos each tag needs (training: 2; measuring: 1).
    """
    rows = _rows(csv_path)
    names, paths, tag_sets, first_line = [], [], [], {}
    for line, row in rows:
        if len(row) != 2 or not row[0].strip():
            raise TagLabelsError(
                f"{csv_path} line {line}: expected `file,tag1;tag2;…`, got {','.join(row)!r}"
            )
        name, tag_field = row[0].strip(), row[1]
        path = _find(name, csv_path, data)
        if path is None:
            where = f" or {data}" if data is not None else ""
            raise TagLabelsError(
                f"{csv_path} line {line}: no photo {name} (looked beside the CSV{where})"
            )
        key = path.resolve()
        if key in first_line:
            raise TagLabelsError(
                f"{csv_path} line {line}: {name} is listed twice (first on line {first_line[key]})"
            )
        first_line[key] = line
        tags = sorted({tag.strip() for tag in tag_field.split(TAG_SEPARATOR) if tag.strip()})
        if not tags:
            raise TagLabelsError(f"{csv_path} line {line}: {name} has no tags")
        names.append(name)
        paths.append(path)
        tag_sets.append(tags)
    if not paths:
        raise TagLabelsError(f"{csv_path} lists no photos")
    counts = Counter(tag for tags in tag_sets for tag in tags)
    for tag, count in sorted(counts.items()):
        if count < min_photos:
            line = next(rows[i][0] for i, tags in enumerate(tag_sets) if tag in tags)
            raise TagLabelsError(
                f"{csv_path} line {line}: the tag {tag!r} is on a single photo; a tag needs at "
                f"least {MIN_PHOTOS_PER_TAG} (one to train on, one to validate)"
            )
    columns = sorted(counts)
    targets = np.zeros((len(paths), len(columns)), np.float32)
    for row, tags in enumerate(tag_sets):
        targets[row, [columns.index(tag) for tag in tags]] = 1.0
    return TagLabels(names=names, paths=paths, tags=columns, targets=targets)


def _rows(csv_path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row, without the header."""
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TagLabelsError(f"the labels file {csv_path} does not exist") from None
    except UnicodeDecodeError:
        raise TagLabelsError(f"the labels file {csv_path} is not UTF-8 text") from None
    except OSError as exc:
        raise TagLabelsError(f"can't read the labels file {csv_path}: {exc.strerror}") from None
    try:
        rows = [
            (line, row)
            for line, row in enumerate(csv.reader(text.splitlines()), start=1)
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as exc:
        raise TagLabelsError(f"the labels file {csv_path} is not a CSV file: {exc}") from None
    if rows and tuple(cell.strip().lower() for cell in rows[0][1]) == HEADER:
        rows = rows[1:]
    return rows


def _find(name: str, csv_path: Path, data: Path | None) -> Path | None:
    for folder in (csv_path.parent, data):
        if folder is not None and (folder / name).is_file():
            return folder / name
    return None


def write_tag_labels(path: Path, rows: list[tuple[str, list[str]]]) -> None:
    """A labels file with its header: (file relative to the CSV, tags) per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows((name, TAG_SEPARATOR.join(tags)) for name, tags in rows)
