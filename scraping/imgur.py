"""Imgur search pages, post pages and API answers → PhotoRefs. Pure functions.

Imgur names every image by a 5- or 7-character hash; thumbnails append one size letter
(`abcdefgb.jpg`), and the full image is `https://i.imgur.com/<hash>.<ext>`. Pages are read for
that hash wherever it appears, so saved pages (whose image paths a browser rewrote) work too.
"""

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from scraping.photos import PhotoRef, owner_label

SITE = "https://imgur.com"
IMAGE_HOST = "https://i.imgur.com"
API = "https://api.imgur.com"
IMAGE_FILE = re.compile(r"^(?P<stem>[A-Za-z0-9]{5,8})(?:_d)?\.(?P<ext>jpe?g|png|gif|webp)$")
SIZE_LETTERS = "sbtmlhd"
POST_PATH = re.compile(r"^/(gallery/|a/|t/[^/]+/)?(?:[\w-]*-)?(?P<id>[A-Za-z0-9]{5,7})/?$")
STILL_TYPES = ("image/jpeg", "image/png", "image/webp")  # gifs and videos are not photos


def image_hash(url: str) -> tuple[str, str] | None:
    """(hash, extension) of an Imgur image URL or saved file name, thumbnail suffix removed."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    match = IMAGE_FILE.match(name)
    if not match:
        return None
    stem = match["stem"]
    # A 6- or 8-character stem is a 5/7-character hash plus a size letter.
    if len(stem) in (6, 8):
        if stem[-1] not in SIZE_LETTERS:
            return None
        stem = stem[:-1]
    return stem, match["ext"]


def parse_page(html: str, page_url: str, *, image_host: str = IMAGE_HOST) -> list[PhotoRef]:
    """Images on an Imgur search or post page, in page order, each once."""
    soup = BeautifulSoup(html, "lxml")
    canonical = soup.find("meta", attrs={"property": "og:url"})
    post_url = canonical["content"] if canonical and canonical.get("content") else ""
    found: dict[str, PhotoRef] = {}
    for img in soup.find_all("img"):
        if _is_chrome(img):
            continue
        src = img.get("data-src") or img.get("src") or ""
        found_hash = image_hash(src)
        if not found_hash or found_hash[0] in found:
            continue
        hash_, ext = found_hash
        anchor = img.find_parent("a", href=True)
        link = (
            urljoin(page_url, anchor["href"])
            if anchor and POST_PATH.match(urlsplit(urljoin(page_url, anchor["href"])).path)
            else ""
        )
        found[hash_] = PhotoRef(
            source="imgur",
            photo_id=hash_,
            image_urls=(f"{image_host.rstrip('/')}/{hash_}.{ext}",),
            search_page_url=page_url,
            photo_page_url=link or post_url,
        )
    return list(found.values())


def _is_chrome(img) -> bool:
    """Avatars, icons and tracking pixels are not post images."""
    classes = " ".join(img.get("class", [])).lower()
    return any(word in classes for word in ("avatar", "icon", "logo")) or img.get("width") in (
        "1",
        "0",
    )


def parse_api_search(payload: dict, page_url: str) -> list[PhotoRef]:
    """Still images from a /3/gallery/search answer (posts may be albums of several images)."""
    photos = []
    for post in payload.get("data") or []:
        images = post.get("images") if post.get("is_album") else [post]
        for image in images or []:
            if image.get("type") not in STILL_TYPES or image.get("animated"):
                continue
            account = post.get("account_url") or ""
            photos.append(
                PhotoRef(
                    source="imgur",
                    photo_id=str(image["id"]),
                    image_urls=(image["link"],),
                    search_page_url=page_url,
                    photo_page_url=post.get("link") or f"{SITE}/gallery/{post.get('id', '')}",
                    owner=owner_label(account, f"{SITE}/user/{account}" if account else ""),
                )
            )
    return photos
