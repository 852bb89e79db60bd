"""The heat-map service: `python -m jobs.heatmap_service`, a child of `petclf worker`.

It listens on PETCLF_HEATMAP_ADDR (default 127.0.0.1:9997; the protocol has no authentication,
so keep it on loopback or a private network) and answers classifier/heatmap_client.py:

    POST /v1/heatmap?model=<the .h5's absolute path>[&label=<class>]   body: the photo's bytes
      → 200 image/png (the label explained in X-Petclf-Label), or {"error": {"code", "message"}}
    GET /healthz → 200 {"models": <how many are loaded>, "pid": …} once the shipped model is loaded

It binds its address before loading TensorFlow, so a second worker on the same host learns at
once that one already serves there, and requests made while it warms up wait instead of failing.
"""

import errno
import json
import logging
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from classifier.artifact import model_path
from classifier.errors import ModelError
from classifier.heatmap_client import LABEL_HEADER, PATH, HeatmapError, heatmap_addr
from jobs.heatmaps import HeatMaker, ModelNotServed, UnknownLabel, served_roots
from preprocessing import ImageError, UnsupportedImage

CANNOT_LISTEN = 3  # exit status: the address is taken (by another worker's service) or unusable
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # callers cap photos lower; this only bounds the service

log = logging.getLogger("petclf.heatmaps")


class HeatmapServer(ThreadingHTTPServer):
    daemon_threads = True
    maker: HeatMaker

    def __init__(self, address: tuple[str, int]):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: HeatmapServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/healthz":
            return self._error(404, "not_found", "no such path")
        ready = {"models": len(self.server.maker), "pid": os.getpid()}
        self._send(200, "application/json", json.dumps(ready).encode())

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path != PATH:
            return self._error(404, "not_found", "no such path")
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        if not query.get("model") or length <= 0:
            return self._error(400, "bad_request", "send the photo and ?model=<path>")
        if length > MAX_IMAGE_BYTES:
            return self._error(413, "too_large", "the photo is too large")
        image = self.rfile.read(length)
        try:
            png, label = self.server.maker.make(
                Path(query["model"][0]), image, query.get("label", [None])[0]
            )
        except Exception as exc:  # every failure is answered; the service keeps serving
            return self._error(*_verdict(exc))
        self._send(200, "image/png", png, {LABEL_HEADER: label})

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self._send(status, "application/json", body)

    def _send(self, status: int, kind: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        log.debug(format, *args)


def _verdict(exc: Exception) -> tuple[int, str, str]:
    """(status, code, message) for what making a map raised."""
    if isinstance(exc, ModelNotServed):
        return 403, "model_not_served", str(exc)
    if isinstance(exc, ModelError):
        return 410, "model_gone", str(exc)
    if isinstance(exc, UnknownLabel):
        return 422, "unknown_label", str(exc)
    if isinstance(exc, UnsupportedImage):
        return 415, "unsupported_image", str(exc)
    if isinstance(exc, ImageError):
        return 422, "unusable_image", str(exc)
    log.exception("a heat map failed")
    return 500, "heatmap_failed", f"the heat map failed: {type(exc).__name__}"


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s petclf-heatmaps %(levelname)s %(message)s"
    )
    try:
        address = heatmap_addr()
        server = HeatmapServer(address)
    except HeatmapError as exc:
        log.error("%s", exc)
        return CANNOT_LISTEN
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            log.info("a heat-map service already listens on %s:%s", *address)
        else:
            log.error("can't listen on %s:%s: %s", *address, exc.strerror or exc)
        return CANNOT_LISTEN
    server.maker = HeatMaker(served_roots())
    try:
        server.maker.warm_up(model_path())
    except Exception as exc:  # projects' models still get their maps
        log.warning("the shipped model %s has no heat maps: %s", model_path(), exc)
    log.info("heat maps on %s:%s", *address)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
