"""A scrape run: jobs (class, source, queries, limit) → class folders, manifest and a summary."""

import fcntl
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scraping import manifest
from scraping.collector import ClassCollector
from scraping.dedupe import DEFAULT_NEAR_DISTANCE, HashIndex
from scraping.downloader import Downloader, DownloadLimits
from scraping.errors import AccessWall, MissingCredentials, PlanError, RobotsDisallowed, ScrapeError
from scraping.politeness import DEFAULT_PAGES_PER_SECOND, HostRateLimiter, RobotsPolicy
from scraping.session import DEFAULT_RETRIES, PoliteSession
from scraping.sources import MAX_PAGES, PageFetcher, distinct_pages, make_source
from scraping.summary import RunSummary

# A source that fails like this will fail the same way for every other query: stop using it.
SOURCE_WIDE = (AccessWall, RobotsDisallowed, MissingCredentials, PlanError)
LOCK_FILE = ".scrape.lock"


@dataclass(frozen=True)
class Job:
    label: str
    source: str
    queries: tuple[str, ...]
    limit: int


@dataclass(frozen=True)
class Options:
    out: Path = Path("Images/raw")
    base_url: str = ""
    api: bool = False
    license: str = "any"
    ignore_robots: bool = False
    pages_per_second: float = DEFAULT_PAGES_PER_SECOND
    limits: DownloadLimits = DownloadLimits()
    near_distance: int = DEFAULT_NEAR_DISTANCE
    max_pages: int = MAX_PAGES
    retries: int = DEFAULT_RETRIES
    stop_on_source_error: bool = True  # single-query runs fail; plan runs report and go on


@dataclass
class RunResult:
    per_class: dict[str, RunSummary] = field(default_factory=dict)

    @property
    def total(self) -> RunSummary:
        total = RunSummary()
        for summary in self.per_class.values():
            total.merge(summary)
        return total


def run(jobs: Iterable[Job], options: Options) -> RunResult:
    jobs = list(jobs)
    if options.ignore_robots:
        print(
            "WARNING: --ignore-robots: robots.txt rules are NOT being checked for this run. "
            "Only do this with the site's permission.",
            file=sys.stderr,
        )
    options.out.mkdir(parents=True, exist_ok=True)
    with _exclusive(options.out):
        return _run(jobs, options)


@contextmanager
def _exclusive(out: Path):
    """One run per output folder: two would race on the manifest. The OS drops the lock on any exit."""
    with (out / LOCK_FILE).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScrapeError(
                f"another petclf scrape is writing to {out}; wait for it to finish"
            ) from None
        yield


def _run(jobs: list[Job], options: Options) -> RunResult:
    session = PoliteSession(retries=options.retries, pool_size=options.limits.per_host)
    limiter = HostRateLimiter(options.pages_per_second)
    fetcher = PageFetcher(
        session, limiter, RobotsPolicy(session, limiter, ignore=options.ignore_robots)
    )
    downloader = Downloader(session, options.limits)
    rows = manifest.load(options.out / manifest.FILENAME)
    known_urls = {url for row in rows for url in (row["image_url"], row["photo_page_url"]) if url}
    known_urls |= {
        row["image_url"] for row in manifest.load(options.out / manifest.REJECTED_FILENAME)
    }
    result = RunResult()
    sources, broken = {}, {}
    workers = options.limits.per_host * 2  # two image hosts busy at once at most per source
    with session, ThreadPoolExecutor(max_workers=workers) as executor:
        for label in dict.fromkeys(job.label for job in jobs):
            summary = result.per_class.setdefault(label, RunSummary())
            collector = ClassCollector(
                options.out,
                label,
                rows=rows,
                known_urls=known_urls,
                downloader=downloader,
                executor=executor,
                window=workers,
                limit=max(job.limit for job in jobs if job.label == label),
                index=HashIndex(options.near_distance),
                summary=summary,
            )
            try:
                for job in (job for job in jobs if job.label == label):
                    for query in job.queries:
                        if collector.needed <= 0 or job.source in broken:
                            break
                        try:
                            if job.source not in sources:
                                sources[job.source] = make_source(
                                    job.source,
                                    fetcher,
                                    base_url=options.base_url,
                                    api=options.api,
                                    license=options.license,
                                )
                            for photos in distinct_pages(
                                sources[job.source].pages(query), options.max_pages
                            ):
                                summary.found += len(photos)
                                collector.collect(photos, query)
                                if collector.needed <= 0:
                                    break
                        except ScrapeError as exc:
                            if options.stop_on_source_error:
                                raise
                            _report(exc, job, summary, broken)
            finally:
                collector.close()
    return result


def _report(exc: ScrapeError, job: Job, summary: RunSummary, broken: dict) -> None:
    wide = isinstance(exc, SOURCE_WIDE)
    if wide:
        broken[job.source] = exc
    then = (
        f"not using {job.source} for the rest of this run"
        if wide
        else "going on with the next query"
    )
    # not through the bar
    tqdm.write(f"petclf scrape: error: {job.source}: {exc} ({then})", file=sys.stderr)
    summary.source_errors.append(f"{job.source}: {exc}")
