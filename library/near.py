"""Near duplicates: the perceptual hashes of the library's photos, kept per process and database.

Loading every hash takes a while in a large library, so it happens once; each use first reads
only the rows added since (by any process), and checks that the look-alike it found still exists.
Photo ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so an id read
once names the same photo for good.
"""

import threading

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from preprocessing.dataset import DEFAULT_HASH_THRESHOLD, distances
from store import LibraryPhoto, database_url

_indexes: dict[str, "NearIndex"] = {}
_lock = threading.Lock()


class NearIndex:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held by the ingest committing through it
        self.ids: list[int] = []
        self.hashes = np.empty(0, dtype=np.uint64)
        self.alive = np.empty(0, dtype=bool)  # False once its photo is found deleted
        self._listed: set[int] = set()
        self._last_read = 0  # the highest id read from the database

    def refresh(self, db: Session) -> None:
        """Add the rows committed since the last refresh, by this process or another."""
        rows = db.execute(
            select(LibraryPhoto.id, LibraryPhoto.phash)
            .where(LibraryPhoto.id > self._last_read)
            .order_by(LibraryPhoto.id)
        ).all()
        if rows:
            self._last_read = rows[-1].id
            fresh = [row for row in rows if row.id not in self._listed]
            self._append([row.id for row in fresh], [row.phash for row in fresh])

    def look_alike(self, db: Session, phash: str) -> LibraryPhoto | None:
        """The first stored photo whose hash is within the threshold (deleted ones are forgotten)."""
        near = distances(np.uint64(int(phash, 16)), self.hashes) <= DEFAULT_HASH_THRESHOLD
        for position in np.flatnonzero(near & self.alive):
            photo = db.get(LibraryPhoto, self.ids[position])
            if photo is not None:
                return photo
            self.alive[position] = False
        return None

    def add(self, photo_id: int, phash: str) -> None:
        self._append([photo_id], [phash])

    def _append(self, ids: list[int], hashes: list[str]) -> None:
        self.ids.extend(ids)
        self._listed.update(ids)
        self.hashes = np.concatenate(
            [self.hashes, np.array([int(h, 16) for h in hashes], dtype=np.uint64)]
        )
        self.alive = np.concatenate([self.alive, np.ones(len(ids), dtype=bool)])


def near_index() -> NearIndex:
    """This process's index of the current database."""
    with _lock:
        return _indexes.setdefault(database_url(), NearIndex())
