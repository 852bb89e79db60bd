"""A stand-in for Flickr and Imgur on 127.0.0.1, for the scrape tests and benchmark.

Search pages are built from the real Flickr capture (its tiles, image URLs pointed here);
images are generated; chosen photos misbehave the way real hosts do.
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from PIL import Image

from tests.imagegen import encode, shape_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FLICKR_CAPTURE = FIXTURES / "flickr" / "Virg29__lickr.html"
IMGUR_GEOBLOCK = FIXTURES / "imgur" / "waseemqaimary77__imgur_page__album_9TP6hPU_UK_geoblock.html"
IMGUR_POST = FIXTURES / "imgur" / "roshnims02__Imgur_The_magic_of_the_Internet__rPP4Cud.html"
ROBOTS = "User-agent: *\nDisallow: /private/\n"
FLICKR_IMAGE = re.compile(r"^/(\d+)/(\d+)_([0-9a-f]+)(?:_([a-z0-9]{1,2}))?\.jpg$")
IMGUR_IMAGE = re.compile(r"^/([A-Za-z0-9]{7})\.jpg$")
IMGUR_API_SEARCH = re.compile(r"^/3/gallery/search/time/all/(\d+)$")
HTML_ERROR = b"<!DOCTYPE html><html><head><title>Error</title></head><body>Something went wrong</body></html>"


@dataclass(frozen=True)
class Tile:
    html: str
    photo_id: str
    owner: str


@lru_cache(maxsize=1)
def capture_tiles() -> tuple[Tile, ...]:
    """Every tile of the real capture, as its original markup."""
    soup = BeautifulSoup(FLICKR_CAPTURE.read_text(encoding="utf-8"), "lxml")
    tiles = []
    for div in soup.select("div.photo-list-photo-view"):
        owner, photo_id = div.select_one("a.overlay")["href"].strip("/").split("/")[1:3]
        tiles.append(Tile(str(div), photo_id, owner))
    return tuple(tiles)


def flickr_tags(index: int) -> str:
    """The API's tags of tile `index`, space-separated as Flickr sends them: every photo is a
    cat, every other one a kitten, and tile 1 alone has a tag of its own."""
    tags = ["cat", "kitten" if index % 2 == 0 else "", "Cat", "onlyone" if index == 1 else ""]
    return " ".join(tag for tag in tags if tag)


def photo_image(n: int, size=(320, 240)) -> Image.Image:
    """A distinct picture per n: four generated shapes in a 2×2 grid (one shape alone hashes alike too often)."""
    labels = ("cat", "dog", "bird")
    half = (size[0] // 2, size[1] // 2)
    image = Image.new("RGB", size)
    for k in range(4):
        part = shape_image(labels[(n + k) % 3], seed=n * 4 + k, size=half)
        image.paste(part, ((k % 2) * half[0], (k // 2) * half[1]))
    return image


@dataclass
class Request:
    kind: str  # robots | page | api | image
    path: str
    status: int
    start: float  # time.monotonic() on arrival
    end: float = 0.0


@dataclass
class FakeSite:
    """Serves `pages` Flickr-style pages of `per_page` capture tiles; pages past the last repeat it.

    `behaviour` maps a tile's index to how its image misbehaves (see _image_response).
    """

    per_page: int = 12
    pages: int = 2
    behaviour: dict[int, str] = field(default_factory=dict)
    image_delay: float = 0.0
    api_key: str = "test-key"
    imgur_posts: int = 6
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        self.tiles = capture_tiles()[: self.per_page * self.pages]
        self.index_of = {tile.photo_id: n for n, tile in enumerate(self.tiles)}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._images: dict[int, bytes] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def of_kind(self, kind: str) -> list[Request]:
        return [r for r in self.requests if r.kind == kind]

    # --- content -----------------------------------------------------------------------------
    def image_bytes(self, n: int) -> bytes:
        with self._lock:
            if n not in self._images:
                fmt = "PNG" if n % 5 == 3 else "JPEG"  # some PNGs behind .jpg URLs
                self._images[n] = encode(photo_image(n), fmt)
            return self._images[n]

    def flickr_page(self, page: int) -> str:
        page = min(page, self.pages)  # like Flickr, past the end it shows the last page again
        tiles = self.tiles[(page - 1) * self.per_page : page * self.per_page]
        body = "".join(tile.html for tile in tiles).replace(
            "//live.staticflickr.com/", f"//{self.url.split('//')[1]}/"
        )
        return f'<html><head><title>Search | Flickr</title></head><body><div class="view photo-list-view">{body}</div></body></html>'

    def flickr_api(self, query: dict) -> dict:
        if query.get("api_key") != [self.api_key]:
            return {
                "stat": "fail",
                "code": 100,
                "message": "Invalid API Key (Key has invalid format)",
            }
        page = int(query.get("page", ["1"])[0])
        first = (page - 1) * self.per_page
        tiles = self.tiles[first : first + self.per_page]
        photos = []
        for index, tile in enumerate(tiles, start=first):
            style_url = re.search(r"//live\.staticflickr\.com(/\d+/\d+_[0-9a-f]+)", tile.html)[1]
            photos.append(
                {
                    "id": tile.photo_id,
                    "owner": tile.owner,
                    "secret": "x",
                    "server": "1",
                    "farm": 1,
                    "title": "",
                    "license": "4",
                    "ownername": f"Owner of {tile.photo_id}",
                    "pathalias": tile.owner,
                    "url_b": f"{self.url}{style_url}_b.jpg",
                    "url_m": f"{self.url}{style_url}_m.jpg",
                    **(
                        {"tags": flickr_tags(index)}
                        if "tags" in query.get("extras", [""])[0]
                        else {}
                    ),
                }
            )
        return {
            "photos": {
                "page": page,
                "pages": self.pages,
                "perpage": self.per_page,
                "total": len(self.tiles),
                "photo": photos,
            },
            "stat": "ok",
        }

    def imgur_search(self, query: str) -> str:
        """Our posts for any query but "nothing", which finds none."""
        posts = (
            ""
            if query == "nothing"
            else "".join(
                f'<div class="post"><a class="image-list-link" href="/gallery/{self.imgur_hash(n)}">'
                f'<img alt="" src="//{self.url.split("//")[1]}/{self.imgur_hash(n)}b.jpg"></a></div>'
                for n in range(self.imgur_posts)
            )
        )
        return f'<html><head><title>Imgur search</title></head><body><div class="cards">{posts}</div></body></html>'

    def imgur_api(self, page: int, authorization: str) -> tuple[int, dict]:
        """Gallery search: page 0 holds one album (a photo and a video) and single photos; then nothing."""
        if authorization != f"Client-ID {self.api_key}":
            return 403, {"data": {"error": "Invalid client_id"}, "success": False, "status": 403}

        def image(n):
            return {
                "id": self.imgur_hash(n),
                "type": "image/jpeg",
                "animated": False,
                "link": f"{self.url}/{self.imgur_hash(n)}.jpg",
            }

        posts = [
            {
                "id": "album01",
                "is_album": True,
                "link": f"{self.url}/a/album01",
                "account_url": "ann",
                "images": [
                    image(0),
                    {"id": "vid0001", "type": "video/mp4", "link": f"{self.url}/vid0001.mp4"},
                ],
            }
        ]
        posts += [
            {**image(n), "is_album": False, "account_url": "bob"}
            for n in range(1, self.imgur_posts)
        ]
        return 200, {"data": posts if page == 0 else [], "success": True, "status": 200}

    @staticmethod
    def imgur_hash(n: int) -> str:
        return f"Im{n:05d}"

    def _image_response(self, photo: int, size: str) -> tuple[int, dict, bytes]:
        """(status, headers, body) for one request for tile `photo`'s image at `size`."""
        kind = self.behaviour.get(photo, "good")
        with self._lock:
            key = f"{photo}:{size}"
            self._hits[key] = self._hits.get(key, 0) + 1
            hits = self._hits[key]
        image = {"Content-Type": "image/jpeg"}
        if kind.startswith("dup_of:"):
            return 200, image, self.image_bytes(int(kind.split(":")[1]))
        if kind.startswith("near_of:"):
            original = photo_image(int(kind.split(":")[1]))
            return 200, image, encode(original.resize((300, 225)), "JPEG", quality=70)
        if kind == "html":
            return 200, image, HTML_ERROR  # a server that labels its error page as a JPEG
        if kind == "404" or (kind == "fallback" and size == "b"):
            return 404, {"Content-Type": "text/html"}, HTML_ERROR
        if kind == "429" and hits == 1:
            return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
        if kind == "503":
            return 503, {"Retry-After": "0", "Content-Type": "text/plain"}, b"unavailable"
        if kind == "tiny":
            return 200, image, encode(photo_image(photo, size=(60, 40)), "JPEG")
        if kind == "blank":
            return 200, image, encode(Image.new("RGB", (300, 300), (128, 128, 128)), "JPEG")
        if kind == "placeholder":
            return 302, {"Location": "/images/photo_unavailable.png"}, b""
        return 200, image, self.image_bytes(photo)


def _handler(site: FakeSite):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):
            record = Request("", self.path, 0, time.monotonic())
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path
            status, headers, body = 404, {"Content-Type": "text/html"}, HTML_ERROR
            if path == "/robots.txt":
                record.kind, status, headers, body = (
                    "robots",
                    200,
                    {"Content-Type": "text/plain"},
                    ROBOTS.encode(),
                )
            elif path in ("/search/", "/private/search/"):
                record.kind = "page"
                status, headers = 200, {"Content-Type": "text/html; charset=utf-8"}
                body = site.flickr_page(int(query.get("page", ["1"])[0])).encode()
            elif path == "/services/rest/":
                record.kind, status, headers = "api", 200, {"Content-Type": "application/json"}
                body = json.dumps(site.flickr_api(query)).encode()
            elif path == "/search":
                record.kind, status, headers = (
                    "page",
                    200,
                    {"Content-Type": "text/html; charset=utf-8"},
                )
                blocked = query.get("q") == ["blocked"]
                body = (
                    IMGUR_GEOBLOCK.read_bytes()
                    if blocked
                    else site.imgur_search(query["q"][0]).encode()
                )
            elif match := IMGUR_API_SEARCH.match(path):
                record.kind, headers = "api", {"Content-Type": "application/json"}
                status, answer = site.imgur_api(
                    int(match[1]), self.headers.get("Authorization", "")
                )
                body = json.dumps(answer).encode()
            elif path == "/images/photo_unavailable.png":
                record.kind, status, headers = "image", 200, {"Content-Type": "image/png"}
                body = encode(photo_image(999, size=(500, 375)), "PNG")
            elif match := FLICKR_IMAGE.match(path):
                record.kind = "image"
                if match[2] in site.index_of:
                    if site.image_delay:
                        time.sleep(site.image_delay)
                    status, headers, body = site._image_response(
                        site.index_of[match[2]], match[4] or ""
                    )
            elif match := IMGUR_IMAGE.match(path):
                record.kind, status, headers = "image", 200, {"Content-Type": "image/jpeg"}
                body = site.image_bytes(500 + int(match[1][2:]))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            record.status, record.end = status, time.monotonic()
            with site._lock:
                site.requests.append(record)

    return Handler
