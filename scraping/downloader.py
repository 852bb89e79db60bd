"""Fetch one photo's bytes (trying its fallback URLs) and check them, bounded per image host."""

import threading
from collections import defaultdict
from dataclasses import dataclass

import requests

from preprocessing import DEFAULT_MAX_PIXELS
from scraping.errors import DownloadFailed, ImageRejected
from scraping.photos import PhotoRef
from scraping.politeness import host_of
from scraping.quality import DEFAULT_MAX_BYTES, DEFAULT_MIN_SIDE, CheckedImage, check_image

DEFAULT_PER_HOST = 8
CHUNK = 64 * 1024
# Worth trying the next URL of a photo: this size is missing, another may not be.
TRY_NEXT_FAILED = {"http_404", "http_410"}
TRY_NEXT_REJECTED = {"placeholder"}


@dataclass(frozen=True)
class DownloadLimits:
    per_host: int = DEFAULT_PER_HOST
    min_side: int = DEFAULT_MIN_SIDE
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS


class Downloader:
    """Thread-safe: many workers call fetch(); at most `per_host` requests per host at once."""

    def __init__(self, session: requests.Session, limits: DownloadLimits = DownloadLimits()):
        self.session = session
        self.limits = limits
        self._slots = defaultdict(lambda: threading.BoundedSemaphore(limits.per_host))
        self._lock = threading.Lock()

    def fetch(self, photo: PhotoRef) -> tuple[str, CheckedImage]:
        """(URL used, checked image); raises DownloadFailed or ImageRejected."""
        for url in photo.image_urls[:-1]:
            try:
                return url, self._fetch_checked(url)
            except DownloadFailed as exc:
                if exc.reason not in TRY_NEXT_FAILED:
                    raise
            except ImageRejected as exc:
                if exc.reason not in TRY_NEXT_REJECTED:
                    raise
        return photo.image_urls[-1], self._fetch_checked(photo.image_urls[-1])

    def _fetch_checked(self, url: str) -> CheckedImage:
        data, final_url = self._get(url)
        return check_image(
            data, final_url, min_side=self.limits.min_side, max_pixels=self.limits.max_pixels
        )

    def _slot(self, url: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._slots[host_of(url)]

    def _get(self, url: str) -> tuple[bytes, str]:
        with self._slot(url):
            try:
                with self.session.get(url, stream=True) as response:
                    if response.status_code != 200:
                        raise DownloadFailed(
                            f"http_{response.status_code}", f"HTTP {response.status_code} for {url}"
                        )
                    declared = int(response.headers.get("Content-Length") or 0)
                    if declared > self.limits.max_bytes:
                        raise ImageRejected(
                            "too_large",
                            f"{declared} bytes is over the {self.limits.max_bytes} limit",
                        )
                    body = bytearray()
                    for chunk in response.iter_content(CHUNK):
                        body += chunk
                        if len(body) > self.limits.max_bytes:
                            raise ImageRejected(
                                "too_large", f"over the {self.limits.max_bytes} byte limit"
                            )
                    return bytes(body), response.url
            except requests.Timeout:
                raise DownloadFailed("timeout", f"timed out fetching {url}") from None
            except requests.RequestException as exc:
                raise DownloadFailed("network", f"{type(exc).__name__} fetching {url}") from None
