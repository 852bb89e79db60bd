"""Flickr search-result markup → PhotoRefs. Pure functions over the page text.

Flickr has shipped several forms over the years and we read them all:
tiles whose style holds `background-image: url(...)`, plain `<img src|srcset>` thumbnails, and
the JSON model (`modelExport`) the page embeds for its own scripts.
"""

import dataclasses
import json
import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from scraping.photos import PhotoRef, owner_label

# /<server>/<id>_<secret>[_<size>].<ext>, on live.staticflickr.com, farmN.staticflickr.com or a mirror.
PHOTO_PATH = re.compile(
    r"/(?P<server>\d+)/(?P<id>\d+)_(?P<secret>[0-9a-f]+)(?:_(?P<size>[a-z0-9]{1,2}))?\.(?P<ext>jpe?g|png|gif)$"
)
BACKGROUND_URL = re.compile(r"background-image\s*:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", re.I)
PHOTO_PAGE = re.compile(r"^/photos/(?P<owner>[^/]+)/(?P<id>\d+)/?")
# Sizes below 1024 px ("" is the 500 px default); "b" (1024 px) exists for the same secret.
SMALLER_THAN_LARGE = {"s", "q", "t", "m", "n", "", "w", "z", "c"}
LARGE = "b"
# Flickr licence ids (flickr.photos.licenses.getInfo).
LICENSES = {
    "0": "All Rights Reserved",
    "1": "CC BY-NC-SA 2.0",
    "2": "CC BY-NC 2.0",
    "3": "CC BY-NC-ND 2.0",
    "4": "CC BY 2.0",
    "5": "CC BY-SA 2.0",
    "6": "CC BY-ND 2.0",
    "7": "No known copyright restrictions",
    "8": "United States Government Work",
    "9": "CC0 1.0",
    "10": "Public Domain Mark 1.0",
    "11": "CC BY 4.0",
    "12": "CC BY-SA 4.0",
    "13": "CC BY-ND 4.0",
    "14": "CC BY-NC 4.0",
    "15": "CC BY-NC-SA 4.0",
    "16": "CC BY-NC-ND 4.0",
}
CREATIVE_COMMONS = "1,2,3,4,5,6,9,10,11,12,13,14,15,16"
SITE = "https://www.flickr.com"


def larger_size(url: str) -> str:
    """The 1024 px version of a Flickr thumbnail URL; other URLs unchanged."""
    parts = urlsplit(url)
    match = PHOTO_PATH.search(parts.path)
    if not match or (match["size"] or "") not in SMALLER_THAN_LARGE:
        return url
    path = f"/{match['server']}/{match['id']}_{match['secret']}_{LARGE}.{match['ext']}"
    return parts._replace(path=parts.path[: match.start()] + path).geturl()


def parse_search_page(
    html: str, page_url: str, *, site: str = SITE, license: str = ""
) -> list[PhotoRef]:
    """Every photo on one search page, in page order, each once."""
    soup = BeautifulSoup(html, "lxml")
    found: dict[str, PhotoRef] = {}
    for photo in [
        *_from_tiles(soup, page_url, site),
        *_from_imgs(soup, page_url, site),
        *_from_model(html, page_url, site),
    ]:
        if license and not photo.license:
            photo = dataclasses.replace(photo, license=license)
        found.setdefault(photo.photo_id, photo)
    return list(found.values())


def _photo(
    image_url: str,
    page_url: str,
    site: str,
    *,
    link: str = "",
    owner_name: str = "",
    license: str = "",
    tags: tuple[str, ...] = (),
):
    image_url = urljoin(page_url, image_url.strip())
    match = PHOTO_PATH.search(urlsplit(image_url).path)
    if not match:
        return None
    photo_page = owner_url = ""
    page = PHOTO_PAGE.match(urlsplit(link).path) if link else None
    if page:
        photo_page = urljoin(site, page.group(0))
        owner_url = urljoin(site, f"/photos/{page['owner']}/")
    large = larger_size(image_url)
    return PhotoRef(
        source="flickr",
        photo_id=match["id"],
        image_urls=(large, image_url) if large != image_url else (image_url,),
        search_page_url=page_url,
        photo_page_url=photo_page,
        owner=owner_label(owner_name, owner_url),
        license=license,
        tags=tags,
    )


def _from_tiles(soup, page_url, site):
    for tile in soup.find_all(style=BACKGROUND_URL):
        url = BACKGROUND_URL.search(tile["style"])[1]
        overlay = tile.select_one("a.overlay[href], a[href^='/photos/']")
        attribution = tile.select_one("a.attribution")
        name = (
            attribution.get_text(" ", strip=True).removeprefix("by ").strip() if attribution else ""
        )
        photo = _photo(
            url, page_url, site, link=overlay["href"] if overlay else "", owner_name=name
        )
        if photo:
            yield photo


def _from_imgs(soup, page_url, site):
    for img in soup.find_all("img"):
        url = (
            _largest_in_srcset(img.get("srcset", "")) or img.get("data-src") or img.get("src") or ""
        )
        anchor = img.find_parent("a", href=PHOTO_PAGE)
        photo = _photo(url, page_url, site, link=anchor["href"] if anchor else "") if url else None
        if photo:
            yield photo


def _largest_in_srcset(srcset: str) -> str:
    best, best_width = "", -1.0
    for candidate in srcset.split(","):
        fields = candidate.split()
        if not fields:
            continue
        descriptor = fields[1] if len(fields) > 1 else "1x"
        try:
            width = float(descriptor[:-1])
        except ValueError:
            continue
        if width > best_width:
            best, best_width = fields[0], width
    return best


def _from_model(html: str, page_url: str, site: str):
    """Photos in the page's embedded `modelExport: {...}` JSON, however deeply nested."""
    start = html.find("modelExport")
    if start < 0:
        return
    brace = html.find("{", start)
    try:
        model, _ = json.JSONDecoder().raw_decode(html, brace)
    except ValueError:
        return
    for entry in _photo_dicts(model):
        urls = [
            url for url in _strings(entry.get("sizes", {})) if PHOTO_PATH.search(urlsplit(url).path)
        ]
        if not urls:
            continue
        owner = entry.get("pathAlias") or entry.get("ownerNsid") or entry.get("owner") or ""
        link = f"/photos/{owner}/{entry['id']}/" if owner else ""
        name = entry.get("realname") or entry.get("username") or entry.get("ownername") or ""
        license = LICENSES.get(str(entry.get("license", "")), "")
        photo = _photo(
            urls[0],
            page_url,
            site,
            link=link,
            owner_name=name,
            license=license,
            tags=flickr_tags(entry.get("tags")),
        )
        if photo:
            yield photo


def flickr_tags(value) -> tuple[str, ...]:
    """Flickr's tags of a photo: the API's space-separated string, or the page model's list of
    strings or of {"content"|"raw": …} objects; lower case, each once, in order."""
    if isinstance(value, str):
        found = value.split()
    elif isinstance(value, list):
        found = [
            item if isinstance(item, str) else str(item.get("content") or item.get("raw") or "")
            for item in value
            if isinstance(item, (str, dict))
        ]
    else:
        found = []
    return tuple(dict.fromkeys(tag.strip().lower() for tag in found if tag.strip()))


def _photo_dicts(node):
    return (
        n for n in _nodes(node) if isinstance(n, dict) and {"id", "secret", "sizes"} <= n.keys()
    )


def _strings(node):
    return (n for n in _nodes(node) if isinstance(n, str))


def _nodes(node):
    """Every value in a parsed JSON tree, the node itself first."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for value in children:
        yield from _nodes(value)
