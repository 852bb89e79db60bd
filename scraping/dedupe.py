"""Exact (sha256) and near (perceptual hash) duplicate lookup for one class folder."""

import numpy as np

from preprocessing.dataset import distances

DEFAULT_NEAR_DISTANCE = 4  # phash bits; re-encodes and resizes land within this


class HashIndex:
    def __init__(self, near_distance: int = DEFAULT_NEAR_DISTANCE):
        self.near_distance = near_distance
        self.by_sha: dict[str, str] = {}  # sha256 -> file
        self._phashes = np.zeros(0, dtype=np.uint64)
        self._phash_files: list[str] = []

    def __len__(self) -> int:
        return len(self.by_sha)

    def add(self, sha256: str, phash: str, file: str) -> None:
        self.by_sha[sha256] = file
        if phash:
            self._phashes = np.append(self._phashes, np.uint64(int(phash, 16)))
            self._phash_files.append(file)

    def exact(self, sha256: str) -> str | None:
        return self.by_sha.get(sha256)

    def near(self, phash: str) -> str | None:
        """A file whose perceptual hash is within near_distance bits, if any."""
        if not len(self._phashes):
            return None
        gaps = distances(int(phash, 16), self._phashes)
        best = int(np.argmin(gaps))
        return self._phash_files[best] if gaps[best] <= self.near_distance else None
