"""Downloads of image links against a real local web server."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.errors import BlockedAddress, DownloadTooLarge, FetchError
from bot.fetch import check_link, download, is_public_address, new_session


@pytest.fixture(scope="module")
def site():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/small":
                self._send(b"x" * 1000)
            elif self.path == "/big-declared":
                self._send(b"x" * 5000)
            elif self.path == "/big-chunked":  # no Content-Length: only counting stops it
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(10):
                    self.wfile.write(b"3e8\r\n" + b"y" * 1000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif self.path == "/slow":
                time.sleep(2)
                self._send(b"late")
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/small")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)

        def _send(self, body):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:  # the client gave up first: that is what /slow is for
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_links_to_loopback_are_refused_by_default(site):
    with pytest.raises(BlockedAddress, match="private or local"):
        download(new_session(public_only=True), f"{site}/small", max_bytes=10_000, timeout=5)
    with pytest.raises(BlockedAddress):
        download(
            new_session(public_only=True),
            f"http://localhost:{site.rsplit(':', 1)[1]}/small",
            max_bytes=10_000,
            timeout=5,
        )


def test_links_are_fetched_when_private_addresses_are_allowed(site):
    session = new_session(public_only=False)
    assert download(session, f"{site}/small", max_bytes=10_000, timeout=5) == b"x" * 1000
    assert download(session, f"{site}/redirect", max_bytes=10_000, timeout=5) == b"x" * 1000


def test_size_cap_applies_with_and_without_content_length(site):
    session = new_session(public_only=False)
    with pytest.raises(DownloadTooLarge):
        download(session, f"{site}/big-declared", max_bytes=4000, timeout=5)
    with pytest.raises(DownloadTooLarge):
        download(session, f"{site}/big-chunked", max_bytes=4000, timeout=5)
    assert len(download(session, f"{site}/big-chunked", max_bytes=20_000, timeout=5)) == 10_000


def test_errors_are_sentences_for_the_chat(site):
    session = new_session(public_only=False)
    with pytest.raises(FetchError, match="404"):
        download(session, f"{site}/missing", max_bytes=100, timeout=5)
    with pytest.raises(FetchError, match="within 0.5 seconds"):
        download(session, f"{site}/slow", max_bytes=100, timeout=0.5)
    with pytest.raises(FetchError, match="couldn't connect"):
        download(session, "http://127.0.0.1:9/x.jpg", max_bytes=100, timeout=5)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/cat.jpg", "file:///etc/passwd", "javascript:alert(1)", "http://"]
)
def test_only_web_links(url):
    with pytest.raises(FetchError, match="http"):
        check_link(url)


@pytest.mark.parametrize(
    "ip, public",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(ip, public):
    assert is_public_address(ip) is public
