"""Scrape throughput: concurrent vs one-at-a-time image downloads, and the page-request rate limit.

A local stand-in for Flickr (tests/scraping/fakesite.py) serves one search page built from the
real Flickr capture and adds a fixed latency to every image. Images/s is measured on the server:
from the first image request's arrival to the last image's reply.

    python benchmarks/scrape_throughput.py [--images 96] [--latency 0.1]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

# run from anywhere: tests/ is importable
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scraping.downloader import DEFAULT_PER_HOST, DownloadLimits  # noqa: E402
from scraping.politeness import DEFAULT_PAGES_PER_SECOND  # noqa: E402
from scraping.runner import Job, Options, run  # noqa: E402
from tests.scraping.fakesite import FakeSite  # noqa: E402

JITTER_S = 0.02  # a request sent on time may arrive a little after the previous one's late arrival


def scrape(site: FakeSite, out: Path, limit: int, per_host: int):
    options = Options(out=out, base_url=site.url, limits=DownloadLimits(per_host=per_host))
    started = time.monotonic()
    result = run([Job("cat", "flickr", ("random",), limit)], options)
    return result, time.monotonic() - started


def image_rate(site: FakeSite, downloaded: int) -> float:
    images = [r for r in site.of_kind("image") if r.status == 200]
    span = max(r.end for r in images) - min(r.start for r in images)
    return downloaded / span


def throughput(images: int, latency: float, per_host: int) -> tuple[float, float, int]:
    with (
        FakeSite(per_page=images, pages=1, image_delay=latency) as site,
        tempfile.TemporaryDirectory() as out,
    ):
        site.image_bytes(images - 1)  # warm the capture parse outside the measurement
        for n in range(images):
            site.image_bytes(n)
        result, wall = scrape(site, Path(out), images, per_host)
        downloaded = result.total.downloaded
        return image_rate(site, downloaded), wall, downloaded


def page_intervals(pages: int) -> tuple[list[str], list[float]]:
    """Page requests of a multi-page run (robots.txt included): their paths, and the gaps between
    them as the server received them."""
    with FakeSite(per_page=6, pages=pages) as site, tempfile.TemporaryDirectory() as out:
        scrape(site, Path(out), 6 * pages, DEFAULT_PER_HOST)
        requests = [r for r in site.requests if r.kind in ("robots", "page")]
        times = [r.start for r in requests]
        received = [later - earlier for earlier, later in zip(times, times[1:])]
        return [r.path for r in requests], received


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds added to every image reply"
    )
    parser.add_argument("--pages", type=int, default=5, help="pages in the rate-limit run")
    args = parser.parse_args()

    concurrent, concurrent_wall, n1 = throughput(args.images, args.latency, DEFAULT_PER_HOST)
    serial, serial_wall, n2 = throughput(args.images, args.latency, 1)
    paths, received = page_intervals(args.pages)
    limit = 1 / DEFAULT_PAGES_PER_SECOND

    print(f"image latency {args.latency * 1000:.0f} ms, {args.images} images per run")
    print(
        f"  per-host {DEFAULT_PER_HOST} (default): {concurrent:6.1f} images/s  ({n1} images, run {concurrent_wall:.1f} s wall)"
    )
    print(
        f"  one at a time:        {serial:6.1f} images/s  ({n2} images, run {serial_wall:.1f} s wall)"
    )
    print(f"  ratio: {concurrent / serial:.1f}x (target >= 5x)")
    print(f"page requests, limit {DEFAULT_PAGES_PER_SECOND:g}/s per host: " + " ".join(paths))
    print("  intervals as received (s): " + ", ".join(f"{gap:.3f}" for gap in received))
    held = min(received) >= limit - JITTER_S
    print(
        f"  shortest {min(received):.3f} s vs {limit:.3f} s limit (less {JITTER_S * 1000:.0f} ms of socket jitter): "
        f"{'held' if held else 'VIOLATED'}; mean {sum(received) / len(received):.3f} s"
    )


if __name__ == "__main__":
    main()
