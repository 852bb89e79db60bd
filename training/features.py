"""The feature cache: a backbone's pooled features of a photo, computed once and kept on disk.

CACHE/<backbone identity>-<input size>/<sha256[:2]>/<sha256>.npy   one float32 vector per photo
CACHE/<backbone identity>-<input size>/<sha256[:2]>/<sha256>-mirrored.npy   of its mirror image

A photo is known by the sha256 of its file, a backbone by the sha256 of its weights as loaded
(plus its architecture, whose scaling is part of the features), so a changed photo, backbone or
input size misses the cache instead of reading stale features. A file that can't be read back
as the expected vector is computed again and replaced. Every trainer (`petclf train`, project
training, tag training) goes through one FeatureCache, so a rerun on the same photos does no
backbone work.

Training may not import the store, so the folder is a parameter; `default_root()` is the same
PETCLF_HOME the store uses, read from the environment.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from classifier.card import sha256_file

FOLDER = "features"
DEFAULT_HOME = "var"  # as store.files: PETCLF_HOME unset means var/ in the current folder


def default_root() -> Path:
    """$PETCLF_HOME/features (var/features when PETCLF_HOME is unset)."""
    return Path(os.environ.get("PETCLF_HOME") or DEFAULT_HOME).absolute() / FOLDER


def backbone_identity(arch: str, backbone) -> str:
    """sha256 over the architecture's name and every weight of the loaded backbone."""
    digest = hashlib.sha256(arch.encode())
    for weights in backbone.get_weights():
        array = np.ascontiguousarray(weights)
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Pooled features (`dim` floats) of one backbone at one input size; `root` None keeps
    nothing on disk. `computed` and `read` count the photos computed and read back.
    """

    def __init__(self, root: Path | None, identity: str, size: int, dim: int):
        self.folder = root / f"{identity[:32]}-{size}" if root is not None else None
        self.dim = dim
        self.computed = 0
        self.read = 0
        self._digests: dict[Path, str] = {}  # a photo's sha256, read once for all its variants

    def features(
        self,
        paths: Sequence[Path],
        compute: Callable[[list[int]], np.ndarray],
        variant: str = "",
    ) -> np.ndarray:
        """The features of each photo file; `compute(indices)` gives those of the missing ones.

        `variant` names features of something else made from the photo ("mirrored": of the photo
        flipped left to right), kept beside the photo's own.
        """
        suffix = f"-{variant}" if variant else ""
        keys = [self._digest(path) + suffix for path in paths] if self.folder is not None else []
        found = [self._load(key) for key in keys] if keys else [None] * len(paths)
        missing = [index for index, row in enumerate(found) if row is None]
        if missing:
            computed = np.asarray(compute(missing), dtype=np.float32)
            for index, row in zip(missing, computed):
                found[index] = row
                if self.folder is not None:
                    self._store(keys[index], row)
        self.computed += len(missing)
        self.read += len(paths) - len(missing)
        return np.stack(found) if found else np.zeros((0, self.dim), np.float32)

    def stats(self) -> dict[str, int]:
        return {"computed": self.computed, "read": self.read}

    def _digest(self, path: Path) -> str:
        if path not in self._digests:
            self._digests[path] = sha256_file(path)
        return self._digests[path]

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def _load(self, key: str) -> np.ndarray | None:
        """The stored vector, or None when absent or not a finite float32 vector (damaged)."""
        try:
            row = np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if row.shape != (self.dim,) or row.dtype != np.float32 or not np.isfinite(row).all():
            return None
        return row

    def _store(self, key: str, row: np.ndarray) -> None:
        """Written beside, then renamed into place: readers see a whole entry or none. No fsync:
        an entry lost or torn by a crash is only computed again."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".npy", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, row.astype(np.float32), allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
