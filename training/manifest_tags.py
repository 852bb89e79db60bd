"""`petclf tags from-manifest`: the Flickr tags the scraper recorded → a labels file.

The scraper's manifest (Images/raw/manifest.csv) has one row per kept photo, with its `file`
relative to the manifest's folder and its site `tags` separated by ";". Tags on fewer than
`min_photos` photos are dropped, and photos left without a tag with them.
"""

import csv
import os
from collections import Counter
from pathlib import Path

from training.errors import DataError
from training.tag_labels import TAG_SEPARATOR, write_tag_labels


class ManifestTagsError(DataError):
    """The manifest can't give a labels file."""


def labels_from_manifest(manifest: Path, out: Path, min_photos: int) -> tuple[int, int]:
    """Write the labels file `out`; return (photos, tags) it keeps."""
    if min_photos < 1:
        raise ManifestTagsError("--min-photos must be at least 1")
    photos = _tagged_photos(manifest)
    counts = Counter(tag for tags in photos.values() for tag in tags)
    kept = {tag for tag, count in counts.items() if count >= min_photos}
    if not kept:
        raise ManifestTagsError(
            f"no tag in {manifest} is on {min_photos} photos or more "
            f"({len(counts)} tags on {len(photos)} photos); lower --min-photos"
        )
    rows = [
        (os.path.relpath(manifest.parent / file, out.parent.absolute()), sorted(tags & kept))
        for file, tags in sorted(photos.items())
        if tags & kept
    ]
    write_tag_labels(out, rows)
    return len(rows), len(kept)


def _tagged_photos(manifest: Path) -> dict[str, set[str]]:
    """file → its tags, for every row of the manifest."""
    try:
        with manifest.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if "tags" not in (reader.fieldnames or []) or "file" not in reader.fieldnames:
                raise ManifestTagsError(
                    f"{manifest} has no file and tags columns (a manifest from `petclf scrape`, "
                    "which records Flickr tags, is needed)"
                )
            return {
                row["file"]: {tag for tag in (row["tags"] or "").split(TAG_SEPARATOR) if tag}
                for row in reader
                if row.get("file")
            }
    except FileNotFoundError:
        raise ManifestTagsError(f"the manifest {manifest} does not exist") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestTagsError(f"{manifest} is not a readable CSV manifest: {exc}") from None
