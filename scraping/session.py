"""One polite HTTP session: a User-Agent that names us, timeouts, retries that honour Retry-After."""

from importlib.metadata import version

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PROJECT_URL = "https://github.com/petclf/petclf"
USER_AGENT = f"petclf/{version('petclf')} (+{PROJECT_URL}; pet-photo classifier data collection)"
ROBOTS_AGENT = "petclf"  # the token robots.txt rules are matched against
DEFAULT_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds
DEFAULT_RETRIES = 3
BACKOFF_FACTOR = 0.5  # 0.5 s, 1 s, 2 s ...
# a server asking for an hour's pause should fail the item, not hang the run
MAX_RETRY_AFTER = 120.0


class PoliteRetry(Retry):
    """urllib3 Retry that caps how long a single Retry-After may make us wait."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


class PoliteSession(requests.Session):
    """requests.Session with a default timeout on every call and retrying adapters."""

    def __init__(
        self, *, timeout=DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES, pool_size: int = 8
    ):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        retry = PoliteRetry(
            total=retries,
            backoff_factor=BACKOFF_FACTOR,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=("GET", "HEAD"),
            respect_retry_after_header=True,
            raise_on_status=False,  # the caller sees the last response and counts it
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=16, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)
