"""Per-host page-request rate limit and robots.txt rules."""

import threading
import time
import urllib.robotparser
from urllib.parse import urlsplit

import requests

from scraping.errors import RobotsDisallowed
from scraping.session import ROBOTS_AGENT

DEFAULT_PAGES_PER_SECOND = 1.0


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


class HostRateLimiter:
    """At most `per_second` requests per host, spaced evenly; thread-safe."""

    def __init__(self, per_second: float = DEFAULT_PAGES_PER_SECOND):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next: dict[str, float] = {}
        self._host_interval: dict[str, float] = {}
        self._lock = threading.Lock()

    def slow_down(self, host: str, interval: float) -> None:
        """A robots.txt Crawl-delay longer than our own interval wins for that host."""
        with self._lock:
            self._host_interval[host] = max(interval, self.interval)

    def wait(self, host: str) -> None:
        with self._lock:
            interval = self._host_interval.get(host, self.interval)
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + interval
        if start > now:
            time.sleep(start - now)


class RobotsPolicy:
    """Fetches each origin's robots.txt once (through the polite session) and answers can_fetch."""

    def __init__(
        self, session: requests.Session, limiter: HostRateLimiter, *, ignore: bool = False
    ):
        self.session = session
        self.limiter = limiter
        self.ignore = ignore
        self._parsers: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._unreadable: dict[str, str] = {}  # origin -> why its robots.txt could not be read
        self._lock = threading.Lock()

    def check(self, url: str) -> None:
        """Raise RobotsDisallowed unless robots.txt lets petclf fetch this page."""
        if self.ignore:
            return
        parser = self._parser_for(url)
        origin = parser.url.removesuffix("/robots.txt")
        if origin in self._unreadable:
            raise RobotsDisallowed(
                f"{parser.url} could not be read ({self._unreadable[origin]}), so crawling {host_of(url)} "
                "is not allowed; try again later, use the source's API, or --ignore-robots with the site's permission"
            )
        if not parser.can_fetch(ROBOTS_AGENT, url):
            raise RobotsDisallowed(
                f"robots.txt of {host_of(url)} disallows {url}; use the source's API "
                "(set its key) or, if you have the site's permission, --ignore-robots"
            )

    def _parser_for(self, url: str) -> urllib.robotparser.RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            if origin not in self._parsers:
                self._parsers[origin] = self._fetch(origin)
            return self._parsers[origin]

    def _fetch(self, origin: str) -> urllib.robotparser.RobotFileParser:
        parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        host = host_of(origin)
        self.limiter.wait(host)
        try:
            response = self.session.get(parser.url)
        except requests.RequestException as exc:
            self._unreadable[origin] = type(exc).__name__
            parser.disallow_all = True
            return parser
        # Read as urllib.robotparser does; a server error means "don't crawl" (RFC 9309).
        if response.status_code in (401, 403):
            parser.disallow_all = True
        elif response.status_code >= 500:
            self._unreadable[origin] = f"HTTP {response.status_code}"
            parser.disallow_all = True
        elif response.status_code >= 400:
            parser.allow_all = True
        else:
            parser.parse(response.text.splitlines())
            delay = parser.crawl_delay(ROBOTS_AGENT)
            if delay:
                self.limiter.slow_down(host, float(delay))
        return parser
