"""The files of the library's ingest: folders listed safely, files read with a reason when they
can't be, and where thumbnails live.

    PETCLF_HOME/thumbnails/ab/abcdef….jpg   the ≤ 320 px thumbnail of the photo whose sha256 is abcdef…
"""

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from library.errors import LibraryError
from store import home

MAX_FILE_BYTES = 200 * 1024 * 1024  # far above any photo; keeps a stray video out of memory


class Unreadable(LibraryError):
    """A listed file that can't be read; the message says why, for the ingest's list."""


@dataclass(frozen=True)
class Item:
    """One photo to ingest: a file (`path`) or uploaded bytes (`data`), shown as `name`."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    uploaded: bool = False  # a staged upload's file: its file time is not the photo's

    @property
    def is_upload(self) -> bool:
        return self.uploaded or self.data is not None

    @property
    def source_path(self) -> str | None:
        """The file a photo comes from, as the library keeps it; None for uploads."""
        return None if self.is_upload or self.path is None else str(self.path.absolute())


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def thumbnail_path(sha256: str) -> Path:
    return home() / "thumbnails" / sha256[:2] / f"{sha256}.jpg"


def list_folders(roots: list[Path]) -> tuple[list[Item], list[Skipped]]:
    """Every non-hidden file under the roots (a root may be a file), sorted within each root.

    Symbolic links are followed, but a folder is entered once: a link back to a folder already
    listed (a loop) is skipped and said so. Raises LibraryError when a root doesn't exist.
    """
    items: list[Item] = []
    skipped: list[Skipped] = []
    visited: set[tuple[int, int]] = set()
    for root in roots:
        if not root.exists():
            raise LibraryError(f"{root} does not exist.")
        if not root.is_dir():
            items.append(Item(name=root.name, path=root))
            continue
        found = []
        for folder, dirnames, filenames in os.walk(
            root,
            followlinks=True,
            onerror=lambda exc, root=root: skipped.append(_unlistable(root, exc)),
        ):
            here = Path(folder)
            visited.add(_identity(here))
            keep = []
            for name in sorted(dirnames):
                child = here / name
                if name.startswith("."):
                    continue
                if _identity(child) in visited:
                    skipped.append(
                        Skipped(
                            _shown(root, child),
                            f"A symbolic link loop: {child} leads back to {child.resolve()}, already listed.",
                        )
                    )
                else:
                    visited.add(_identity(child))
                    keep.append(name)
            dirnames[:] = keep
            found.extend(here / name for name in filenames if not name.startswith("."))
        items.extend(Item(name=_shown(root, path), path=path) for path in sorted(found))
    return items, skipped


def read(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes, and its status as it was before they were read. Raises Unreadable."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("Not a regular file (a device, socket or pipe); skipped.")
        if info.st_size > MAX_FILE_BYTES:
            raise Unreadable(
                f"The file is {info.st_size / 1e6:.0f} MB, more than any photo; skipped."
            )
        with open(path, "rb") as handle:
            # Sized by stat: read(MAX_FILE_BYTES + 1) allocates a fresh 200 MB buffer for every photo,
            # whose pages fault in anew each time (2 ms for a 5 MB photo).
            data = handle.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since: the rest, up to the limit
                data += handle.read(MAX_FILE_BYTES - len(data) + 1)
    except FileNotFoundError:
        if os.path.islink(path):
            raise Unreadable("A symbolic link to a file that doesn't exist.") from None
        raise Unreadable("The file vanished before it could be read.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unreadable("A symbolic link loop: the link never reaches a file.") from None
        raise Unreadable(f"Can't read the file: {exc.strerror or exc}.") from None
    return data, info


def _identity(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, hash(str(path)))  # unlistable: os.walk's onerror reports it
    return info.st_dev, info.st_ino


def _shown(root: Path, path: Path) -> str:
    """A file as the ingest's list shows it: relative to the folder given, under that folder's name."""
    return (Path(root.absolute().name) / path.relative_to(root)).as_posix()


def _unlistable(root: Path, exc: OSError) -> Skipped:
    where = Path(exc.filename) if exc.filename else root
    shown = _shown(root, where) if where.is_relative_to(root) else str(where)
    return Skipped(shown, f"Can't list the folder: {exc.strerror or exc}.")
