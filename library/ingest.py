"""Ingest: files and uploads → library rows, one outcome per file.

Worker threads prepare photos (prepare.py); this thread groups near duplicates, looks up places
and commits rows in batches. A photo's row is committed only after its original and thumbnail
are in place, and its outcome is reported only after that commit: a run killed at any moment
loses nothing it reported as added, and a rerun adds only what is new (files are known by sha256).
"""

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from library.engines import load_models
from library.files import Item, Skipped, list_folders
from library.near import NearIndex, near_index
from library.places import places
from library.prepare import Prepared, Rejected, prepare
from store import LibraryPhoto, LibraryTag, engine, session

BATCH = 16  # rows per transaction: short write locks for the web app
MAX_BATCH_SECONDS = 2.0  # a slow batch still commits (and reports) this often
STATUSES = ("added", "near_duplicate", "duplicate", "damaged", "skipped")


@dataclass(frozen=True)
class Outcome:
    """What happened to one file. `added` and `near_duplicate` are in the library (the latter
    grouped with look-alikes in group `group_id`); the others are not, and `reason` says why."""

    name: str
    status: str
    reason: str = ""
    photo_id: int | None = None
    group_id: int | None = None
    sha256: str = ""
    notes: tuple[str, ...] = ()

    @property
    def added(self) -> bool:
        return self.status in ("added", "near_duplicate")

    def to_dict(self) -> dict:
        values = {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "photo_id": self.photo_id,
            "group_id": self.group_id,
            "sha256": self.sha256,
            "notes": list(self.notes),
        }
        return {key: value for key, value in values.items() if value not in ("", None, [])}


Progress = Callable[[Outcome, int, int], None]  # (the file's outcome, files done, files in all)


@dataclass
class Options:
    shared: bool = False
    pets_model: str | None = None  # default: PETCLF_MODEL, else models/pets.h5
    # a path, True for imagenet.h5 beside the pet model, False for none
    objects_model: str | bool = True
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)


def ingest(
    items: list[Item],
    *,
    options: Options | None = None,
    skipped: Iterable[Skipped] = (),
    progress: Progress | None = None,
) -> list[Outcome]:
    """Ingest the items; `skipped` (what listing a folder refused) is reported first."""
    options = options or Options()
    skipped = list(skipped)
    total = len(items) + len(skipped)
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if outcome.added:  # a second copy later in the run is a duplicate without decoding it
            known.added[outcome.sha256] = outcome.photo_id
        if progress:
            progress(outcome, len(outcomes), total)

    sources = [item.source_path for item in items if item.source_path]
    known = KnownContent(files_under=os.path.commonpath(sources) if sources else None)
    groups = near_index()
    models = cache(
        lambda: load_models(options.pets_model, options.objects_model, threads=options.workers)
    )
    for entry in skipped:
        report(Outcome(entry.name, "skipped", entry.reason))
    received = datetime.now()
    batch: list[tuple[Item, Prepared | Rejected]] = []
    started = time.monotonic()
    for item, result in _prepared(items, known, models, received, options.workers):
        batch.append((item, result))
        if len(batch) >= BATCH or time.monotonic() - started > MAX_BATCH_SECONDS:
            for outcome in _commit(batch, groups, options.shared):
                report(outcome)
            batch, started = [], time.monotonic()
    for outcome in _commit(batch, groups, options.shared):
        report(outcome)
    return outcomes


def ingest_paths(
    paths: list, *, options: Options | None = None, progress: Progress | None = None
) -> list[Outcome]:
    """Ingest every file under the paths (folders recursively, or files). Raises LibraryError
    when a path doesn't exist; every other problem is one file's outcome."""
    items, skipped = list_folders([Path(path) for path in paths])
    return ingest(items, options=options, skipped=skipped, progress=progress)


def ingest_upload(
    name: str, data: bytes, *, shared: bool = False, options: Options | None = None
) -> Outcome:
    """Ingest one uploaded file; `shared` keeps it in the public gallery."""
    options = replace(options or Options(), shared=shared)
    return ingest([Item(name=name or "upload", data=data)], options=options)[0]


def _prepared(
    items: list[Item], known, models, received, workers: int
) -> Iterator[tuple[Item, Prepared | Rejected]]:
    """Each item with its result, in order. A finished result is small (no pixels), so many may wait
    while this thread commits a batch: the workers never idle for it. The window bounds them anyway."""
    window = 4 * BATCH + workers
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="library-ingest") as pool:
        pending = []
        for item in items:
            pending.append((item, pool.submit(prepare, item, known, models, received)))
            if len(pending) >= window:
                first, future = pending.pop(0)
                yield first, future.result()
        for item, future in pending:
            yield item, future.result()


class AddedFile(NamedTuple):
    """A file a photo was added from, as it was then."""

    size: int
    mtime_ns: int
    photo_id: int
    sha256: str


class KnownContent:
    """sha256 → id of a photo the library holds: this run's additions, else the database's unique index.

    With `files_under` (a folder, or a file), it also knows the files under it that photos were
    added from, with the size and modification time each had then: a rerun skips a file while both
    still hold, without reading it (as rsync and make trust them, a file rewritten to the same size
    and time stamp counts as unchanged).
    """

    def __init__(self, files_under: str | None = None) -> None:
        self.added: dict[str, int] = {}
        self.files = _added_files(files_under) if files_under else {}

    def unchanged(self, item: Item) -> AddedFile | None:
        """The photo added from this very file, if the file is as it was then."""
        added = self.files.get(item.source_path or "")
        if added is None or item.path is None:
            return None
        try:
            info = os.stat(item.path)
        except OSError:
            return None  # reading it says why
        return added if (info.st_size, info.st_mtime_ns) == (added.size, added.mtime_ns) else None

    def __call__(self, sha256: str) -> int | None:
        if sha256 in self.added:
            return self.added[sha256]
        # a bare connection: an ORM session costs twice the query (0.4 ms a photo)
        with engine().connect() as connection:
            return connection.scalar(select(LibraryPhoto.id).where(LibraryPhoto.sha256 == sha256))


def _added_files(under: str) -> dict[str, AddedFile]:
    """source path → the file, for every photo added from one under `under`. The prefix keeps a run
    on one folder from loading a large library's every file (35 ms against 330 at 100,000)."""
    columns = (
        LibraryPhoto.source_path,
        LibraryPhoto.source_size,
        LibraryPhoto.source_mtime_ns,
        LibraryPhoto.id,
        LibraryPhoto.sha256,
    )
    with engine().connect() as connection:
        rows = connection.execute(
            select(*columns).where(
                LibraryPhoto.source_size.is_not(None),
                LibraryPhoto.source_path.startswith(under, autoescape=True),
            )
        )
        return {path: AddedFile(*rest) for path, *rest in rows}


def _commit(
    batch: list[tuple[Item, Prepared | Rejected]], groups: NearIndex, shared: bool
) -> list[Outcome]:
    """One transaction for the batch's new photos; their outcomes, and the others', once it commits."""
    if not batch:
        return []
    ready = [(item, result) for item, result in batch if isinstance(result, Prepared)]
    found = places(
        [(p.facts.latitude, p.facts.longitude) for _, p in ready if p.facts.latitude is not None]
    )
    outcomes: dict[int, Outcome] = {}
    with groups.lock, session() as db:  # one ingest at a time per process groups photos
        groups.refresh(db)
        for item, prepared in ready:
            place = found.pop(0) if prepared.facts.latitude is not None else None
            outcomes[id(item)] = _insert(db, item, prepared, place, groups, shared)
    rejected = {
        id(item): _rejected(item, result) for item, result in batch if isinstance(result, Rejected)
    }
    return [outcomes.get(id(item)) or rejected[id(item)] for item, _ in batch]


def _rejected(item: Item, result: Rejected) -> Outcome:
    return Outcome(item.name, result.status, result.reason, sha256=result.sha256)


def _insert(db, item: Item, prepared: Prepared, place, groups: NearIndex, shared: bool) -> Outcome:
    facts = prepared.facts
    look_alike = groups.look_alike(db, prepared.phash)
    group_id = None if look_alike is None else look_alike.group_id or look_alike.id
    row = LibraryPhoto(
        sha256=prepared.sha256,
        phash=prepared.phash,
        original_name=os.path.basename(item.name)[:255],
        source_path=item.source_path,
        source_size=prepared.source.st_size if prepared.source else None,
        source_mtime_ns=prepared.source.st_mtime_ns if prepared.source else None,
        format=prepared.format,
        width=prepared.width,
        height=prepared.height,
        taken_at=prepared.taken_at,
        date_source=prepared.date_source,
        latitude=facts.latitude,
        longitude=facts.longitude,
        altitude=facts.altitude,
        camera_make=facts.camera_make,
        camera_model=facts.camera_model,
        city=place.city[:128] if place else None,
        country=place.country[:64] if place else None,
        label=prepared.predictions["label"],
        confidence=prepared.predictions["predictions"][0]["proba"],
        predictions=prepared.predictions,
        objects=prepared.objects,
        group_id=group_id,
        shared=shared,
        exif=facts.readable(),
        notes=prepared.notes,
        tags=[LibraryTag(tag=tag["tag"], proba=tag["proba"]) for tag in prepared.tags],
    )
    try:
        with db.begin_nested():  # another ingest may have added the same content meanwhile
            db.add(row)
            db.flush()
    except IntegrityError:
        other = db.scalar(select(LibraryPhoto.id).where(LibraryPhoto.sha256 == prepared.sha256))
        return _rejected(item, Rejected.duplicate(other, prepared.sha256))
    groups.add(row.id, prepared.phash)
    if look_alike is not None:
        look_alike.group_id = group_id  # the first look-alike heads its group
        return Outcome(
            item.name,
            "near_duplicate",
            f"Nearly the same picture as photo {look_alike.id}; grouped as group {group_id}.",
            row.id,
            group_id,
            prepared.sha256,
            tuple(prepared.notes),
        )
    return Outcome(item.name, "added", "", row.id, None, prepared.sha256, tuple(prepared.notes))
