"""Files under PETCLF_HOME: photos content-addressed by sha256 (originals, never rewritten).

    PETCLF_HOME/photos/ab/abcdef…   the original bytes of the photo whose sha256 is abcdef…
"""

import os
import tempfile
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside `path`, fsynced, renamed over it: readers see all or nothing."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
