"""Helpers for the preprocessing tests: distinct photo-like images and running the real CLI."""

import hashlib
import io
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests import cli


def photo(seed: int, size: tuple[int, int] = (300, 240)) -> Image.Image:
    """A smooth random colour field: like a photo, its perceptual hash is far from every other seed's.

    (The class shapes of tests/imagegen.py are too alike for a perceptual hash to tell apart.)
    """
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    return small.resize(size, Image.Resampling.BICUBIC)


def encoded(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk (length, type, body, CRC), for PNGs written by hand."""
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def near_copy(image: Image.Image) -> bytes:
    """The same picture resized and recompressed: what a re-upload looks like."""
    width, height = image.size
    return encoded(image.resize((width * 3 // 4, height * 3 // 4)), "JPEG", quality=80)


def write_raw(root: Path, per_class: dict[str, int], first_seed: int = 0) -> Path:
    """root/<class>/img<k>.png with distinct pictures; seeds never repeat across classes."""
    seed = first_seed
    for label, count in per_class.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            (root / label / f"img{k:03d}.png").write_bytes(encoded(photo(seed)))
            seed += 1
    return root


def run_petclf(*args, check_ok: bool = True) -> subprocess.CompletedProcess:
    """`petclf ARGS…`, asserting it succeeded unless `check_ok` is False."""
    result = cli.run_petclf(*args)
    if check_ok:
        assert result.returncode == 0, result.stderr
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """The CLI contract for bad input: non-zero exit, one clear line on stderr, no traceback."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def tree_digest(root: Path) -> dict[str, str]:
    """relative path → sha256 of every file under root."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
