"""Fill one class folder from PhotoRefs: download concurrently, drop junk and duplicates, record.

Kill-safe order for every kept image: bytes to a hidden temporary file, fsync, rename to the
final name, then append the manifest row. A kill leaves at worst a temporary file (removed on
the next run) or a final file without its row (adopted when the next run meets it again).
"""

import os
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from preprocessing.dataset import sha256_hex
from scraping import manifest
from scraping.dedupe import HashIndex
from scraping.downloader import Downloader
from scraping.errors import DownloadFailed, ImageRejected
from scraping.photos import PhotoRef
from scraping.quality import CheckedImage, check_image
from scraping.summary import RunSummary

TEMP_SUFFIX = ".part"
# Rejections that will not change on a retry; the URL goes to rejected.csv and is not fetched again.
LASTING_REJECTIONS = {
    "too_small",
    "blank",
    "placeholder",
    "too_large",
    "too_many_pixels",
    "corrupt",
}
NAME_PREFIX = 16  # hex characters of the sha256 in a file name


class ClassCollector:
    def __init__(
        self,
        out_root: Path,
        label: str,
        *,
        rows: list[dict],
        known_urls: set[str],
        downloader: Downloader,
        executor: Executor,
        window: int,
        limit: int,
        index: HashIndex,
        summary: RunSummary,
    ):
        self.out_root = out_root
        self.label = label
        self.folder = out_root / label
        self.known_urls = known_urls
        self.downloader = downloader
        self.executor = executor
        self.window = window
        self.limit = limit
        self.index = index
        self.summary = summary
        # sha256 -> file written by an interrupted run, without a row
        self.orphans: dict[str, str] = {}
        self.folder.mkdir(parents=True, exist_ok=True)
        self._index_folder(rows)
        self.progress = tqdm(
            total=limit, initial=min(len(index), limit), desc=label, unit="img", leave=True
        )

    @property
    def needed(self) -> int:
        return self.limit - len(self.index)

    def close(self) -> None:
        self.progress.close()

    def collect(self, photos: list[PhotoRef], query: str) -> None:
        """Download until the class holds `limit` images; never more in flight than could be kept."""
        pending: dict[Future, PhotoRef] = {}
        for photo in photos:
            if self._known(photo):
                self.summary.already_have += 1
                continue
            while pending and len(pending) >= min(self.window, self.needed):
                self._finish_some(pending, query)
            if self.needed <= 0:
                break
            self.known_urls.update(photo.image_urls)  # tried once per run, whatever comes of it
            pending[self.executor.submit(self.downloader.fetch, photo)] = photo
        while pending:
            self._finish_some(pending, query)

    def _known(self, photo: PhotoRef) -> bool:
        page = photo.photo_page_url
        return any(url in self.known_urls for url in photo.image_urls) or bool(
            page and page in self.known_urls
        )

    def _finish_some(self, pending: dict[Future, PhotoRef], query: str) -> None:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            photo = pending.pop(future)
            try:
                url, image = future.result()
            except ImageRejected as exc:
                self.summary.rejected[exc.reason] += 1
                if exc.reason in LASTING_REJECTIONS:
                    self._remember_rejected(photo, exc.reason, str(exc))
            except DownloadFailed as exc:
                self.summary.failed[exc.reason] += 1
            else:
                self._keep_unless_duplicate(photo, url, image, query)
        self.progress.set_postfix(
            dup=sum(self.summary.duplicates.values()),
            rejected=sum(self.summary.rejected.values()),
            failed=sum(self.summary.failed.values()),
            refresh=False,
        )

    def _keep_unless_duplicate(
        self, photo: PhotoRef, url: str, image: CheckedImage, query: str
    ) -> None:
        if image.sha256 in self.orphans:  # our own file, renamed before a kill took its row
            self._record(self.orphans.pop(image.sha256), photo, url, image, query)
            self.summary.recovered += 1
        elif same := self.index.exact(image.sha256):
            self.summary.duplicates["exact"] += 1
            self._remember_rejected(photo, "duplicate", f"same bytes as {same}")
        elif similar := self.index.near(image.phash):
            self.summary.duplicates["near"] += 1
            self._remember_rejected(photo, "near_duplicate", f"looks like {similar}")
        else:
            file = self._write(image)
            self.index.add(image.sha256, image.phash, file)
            self._record(file, photo, url, image, query)
            self.progress.update(1)

    def _write(self, image: CheckedImage) -> str:
        name = f"{image.sha256[:NAME_PREFIX]}.{image.extension}"
        temporary = self.folder / f".{name}{TEMP_SUFFIX}"
        with temporary.open("wb") as handle:
            handle.write(image.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / name)
        return f"{self.label}/{name}"

    def _record(
        self, file: str, photo: PhotoRef, url: str, image: CheckedImage, query: str
    ) -> None:
        manifest.append(
            self.out_root / manifest.FILENAME,
            {
                "class": self.label,
                "file": file,
                "sha256": image.sha256,
                "phash": image.phash,
                "width": image.width,
                "height": image.height,
                "bytes": len(image.data),
                "source": photo.source,
                "query": query,
                "search_page_url": photo.search_page_url,
                "image_url": url,
                "photo_page_url": photo.photo_page_url,
                "owner": photo.owner,
                "license": photo.license,
                "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tags": manifest.TAG_SEPARATOR.join(photo.tags),
            },
        )
        self.known_urls.update(filter(None, (url, photo.photo_page_url)))
        self.summary.downloaded += 1

    def _remember_rejected(self, photo: PhotoRef, reason: str, detail: str) -> None:
        manifest.append(
            self.out_root / manifest.REJECTED_FILENAME,
            {
                "class": self.label,
                "image_url": photo.image_url,
                "reason": reason,
                "detail": detail,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            manifest.REJECTED_COLUMNS,
        )

    def _index_folder(self, rows: list[dict]) -> None:
        """What the folder holds: manifest rows by their hashes, anything else by hashing it now."""
        listed = {row["file"] for row in rows}
        for row in rows:
            if row["class"] == self.label and (self.out_root / row["file"]).exists():
                self.index.add(row["sha256"], row["phash"], row["file"])
        for path in sorted(self.folder.iterdir()):
            if path.name.endswith(TEMP_SUFFIX):
                path.unlink()  # a write a kill interrupted: never a finished image
                continue
            file = f"{self.label}/{path.name}"
            if not path.is_file() or file in listed or path.name.startswith("."):
                continue
            data = path.read_bytes()
            sha256 = sha256_hex(data)
            try:
                phash = check_image(data, min_side=1).phash
            except ImageRejected:
                phash = ""
            self.index.add(sha256, phash, file)
            if path.stem == sha256[:NAME_PREFIX]:
                self.orphans[sha256] = file
