"""Downloads with limits: images behind links users send, and files stored on Telegram.

Links are untrusted, so their downloads go through a session that refuses to connect to
private, loopback and link-local addresses. The check runs on the address actually
connected to (every redirect hop included), so DNS tricks can't slip past it.
"""

import ipaddress
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from bot.errors import BlockedAddress, DownloadTooLarge, FetchError

USER_AGENT = "petclf-bot (+https://github.com/petclf)"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5


def is_public_address(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class _PublicOnly:
    """Mixin for urllib3 connections: drop the socket if the peer is not a public address."""

    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not is_public_address(peer):
            sock.close()
            raise BlockedAddress(
                f"The link points to a private or local network address ({self.host}), which I don't fetch."
            )
        return sock


class _PublicHTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def new_session(*, public_only: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would hide the real peer address
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = USER_AGENT
    if public_only:
        adapter = _PublicOnlyAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def download(session: requests.Session, url: str, *, max_bytes: int, timeout: float) -> bytes:
    """The body of `url`, at most `max_bytes`, all of it within `timeout` seconds.

    Raises DownloadTooLarge, BlockedAddress or FetchError with a message for the chat user.
    """
    deadline = time.monotonic() + timeout
    try:
        with session.get(url, stream=True, timeout=(min(timeout, 10), timeout)) as response:
            if response.status_code != 200:
                raise FetchError(f"The server answered {response.status_code} {response.reason}.")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DownloadTooLarge()
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise DownloadTooLarge()
                if time.monotonic() > deadline:
                    raise FetchError(f"The download took longer than {timeout:g} seconds.")
            return bytes(body)
    except requests.exceptions.Timeout:
        raise FetchError(f"The server did not answer within {timeout:g} seconds.") from None
    except requests.exceptions.TooManyRedirects:
        raise FetchError("The link redirects too many times.") from None
    except requests.exceptions.ConnectionError:
        raise FetchError(
            f"I couldn't connect to {urlsplit(url).hostname or 'the server'}."
        ) from None
    except (requests.exceptions.RequestException, ValueError):
        raise FetchError("The link is not a valid web address.") from None


def check_link(url: str) -> None:
    """Only web links: no file:, ftp: or other schemes."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("Only http:// and https:// links to images work.")
