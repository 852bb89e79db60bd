"""Files under PETCLF_HOME: photos content-addressed by sha256 (originals, never rewritten).

PETCLF_HOME/photos/ab/abcdef…   the original bytes of the photo whose sha256 is abcdef…
"""

import os
from pathlib import Path

from preprocessing.dataset import write_atomically

DEFAULT_HOME = "var"


def home() -> Path:
    """$PETCLF_HOME, or var/ in the current folder (the checkout, under `make run`)."""
    path = Path(os.environ.get("PETCLF_HOME") or DEFAULT_HOME).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def photo_path(sha256: str) -> Path:
    return home() / "photos" / sha256[:2] / sha256


def put_photo(sha256: str, data: bytes) -> Path:
    """Store the bytes under their sha256 unless they are there already; never a half-written file."""
    path = photo_path(sha256)
    if path.is_file():
        return path
    write_atomically(path, data)
    return path
