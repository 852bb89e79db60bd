"""Uploads at a fixed concurrency over kept-alive connections, with a share of hostile files,
and every outcome counted: the soak test and benchmarks/soak.py share it.

    inputs = upload_mix(photos, hostile_share=0.15, max_upload_mb=10)
    result = soak(url, inputs, requests=500, concurrency=8)
    result.errors, result.statuses
"""

import io
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from PIL import Image

from tests.imagegen import encode, shape_image

# What the API answers each kind of input with, directly and through nginx.
EXPECTED_STATUS = {
    "photo": 200,
    "html": 415,
    "svg": 415,
    "truncated": 422,
    "bomb": 422,
    "oversize": 413,
}


@dataclass(frozen=True)
class Upload:
    kind: str
    name: str
    data: bytes


def hostile_files(max_upload_mb: float) -> list[Upload]:
    """One of each: a page and a drawing named .jpg, half a JPEG, 100 megapixels in a few
    kilobytes, and random bytes 20% over the upload limit."""
    jpeg = encode(shape_image("dog", 3, size=(900, 700)), quality=95)
    oversize = random.Random(0).randbytes(int(max_upload_mb * 1.2 * 1024 * 1024))
    return [
        Upload("html", "photo.jpg", b"<!doctype html><html><body>404 Not Found</body></html>"),
        Upload(
            "svg", "photo.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
        ),
        Upload("truncated", "photo.jpg", jpeg[: len(jpeg) // 2]),
        Upload("bomb", "photo.png", encode(Image.new("1", (10_000, 10_000)), "PNG")),
        Upload("oversize", "photo.jpg", oversize),
    ]


def photos_from(folder: Path, limit: int = 300) -> list[Upload]:
    """Up to `limit` image files found under `folder` (a spread over its class folders)."""
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
    )
    files = random.Random(0).sample(files, min(limit, len(files)))
    return [Upload("photo", path.name, path.read_bytes()) for path in files]


def generated_photos(count: int = 30) -> list[Upload]:
    labels = ("cat", "dog", "bird")
    return [
        Upload(
            "photo",
            f"{labels[n % 3]}{n}.jpg",
            encode(shape_image(labels[n % 3], n, size=(640, 480)), quality=90),
        )
        for n in range(count)
    ]


def upload_mix(photos: list[Upload], *, hostile_share: float, max_upload_mb: float) -> list[Upload]:
    """A repeatable order of photos and hostile files, `hostile_share` of them hostile."""
    hostile = hostile_files(max_upload_mb)
    picker = random.Random(1)
    return [
        picker.choice(hostile if picker.random() < hostile_share else photos) for _ in range(1000)
    ]


@dataclass
class SoakResult:
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)  # (input kind, HTTP status) → count
    errors: Counter = field(default_factory=Counter)  # (input kind, exception name) → count
    # (input kind, exception name) → its first message
    first_error: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def unexpected(self) -> Counter:
        """Answers other than the one each kind must get (a 5xx, a photo refused, ...)."""
        return Counter(
            {key: n for key, n in self.statuses.items() if EXPECTED_STATUS[key[0]] != key[1]}
        )


def soak(
    url: str, inputs: list[Upload], *, requests_total: int, concurrency: int, during=None
) -> SoakResult:
    """POST `requests_total` uploads to `url`/api/v1/predict from `concurrency` clients, each on
    its own kept-alive connection (a new one after an error). `during(sent)` is called by the
    client thread that sends request number `sent` (e.g. to force a worker recycle mid-run)."""
    result, counter, counter_lock = SoakResult(), iter(range(requests_total)), threading.Lock()

    def client() -> None:
        session = requests.Session()
        while True:
            with counter_lock:
                number = next(counter, None)
            if number is None:
                break
            if during is not None:
                during(number)
            upload = inputs[number % len(inputs)]
            try:
                response = session.post(
                    f"{url}/api/v1/predict",
                    files={"file": (upload.name, io.BytesIO(upload.data))},
                    timeout=60,
                )
                key, tally = (upload.kind, response.status_code), result.statuses
            except requests.RequestException as exc:
                key, tally = (upload.kind, type(exc).__name__), result.errors
                result.first_error.setdefault(key, f"request {number}: {exc}")
                session.close()
                session = requests.Session()
            with result.lock:
                tally[key] += 1
        session.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def rss_mb(pids) -> dict[int, float]:
    """Resident memory of each live process, in MB."""
    found = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kilobytes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        found[pid] = kilobytes / 1024
    return found
