"""Search sources: each turns a query into pages of PhotoRefs, fetched politely.

Page requests (search pages, API calls) go through PageFetcher: per-host rate limit, robots.txt
for HTML pages, and walls recognised. Image downloads do not come through here.
"""

import os
import re
from collections.abc import Iterator
from itertools import count
from urllib.parse import urlencode

import requests

from scraping import flickr_api, flickr_html, imgur
from scraping.errors import MissingCredentials, NoResults, PlanError, SourceError
from scraping.photos import PhotoRef
from scraping.politeness import HostRateLimiter, RobotsPolicy, host_of
from scraping.walls import find_wall

SOURCES = ("flickr", "imgur")
MAX_PAGES = 100  # per query: a guard against a site that never stops paging
SECRET_PARAMS = re.compile(r"([?&](api_key|client_id)=)[^&]*", re.I)


def redact(url: str) -> str:
    """The URL as it may appear in the manifest, messages and logs: no keys."""
    return SECRET_PARAMS.sub(r"\1REDACTED", url)


class PageFetcher:
    def __init__(self, session: requests.Session, limiter: HostRateLimiter, robots: RobotsPolicy):
        self.session = session
        self.limiter = limiter
        self.robots = robots

    def get(self, url: str, *, html: bool, headers: dict | None = None) -> requests.Response:
        """A 200 response, or the typed error that explains why not."""
        if html:
            self.robots.check(url)
        self.limiter.wait(host_of(url))
        try:
            response = self.session.get(url, headers=headers)
        except requests.RequestException as exc:
            raise SourceError(f"could not fetch {redact(url)}: {type(exc).__name__}") from None
        wall = (
            find_wall("", response.url, response.status_code)
            if response.status_code in (401, 451)
            else None
        )
        if wall:
            raise wall
        if response.status_code != 200:
            raise SourceError(
                f"{host_of(url)} answered HTTP {response.status_code} for {redact(url)}"
            )
        return response


def end_of_results(
    source: str, query: str, page: int, url: str, response: requests.Response | None = None
) -> None:
    """A page without photos: a wall (raised), no results at all (raised), or the end of the results."""
    wall = (
        find_wall(response.text, response.url, response.status_code)
        if response is not None
        else None
    )
    if wall:
        raise wall
    if page == 1:
        raise NoResults(
            f"{source} found no photos for {query!r} at {redact(url)}; if a browser shows results there, "
            "the page may need JavaScript or its markup changed: try the API (set its key)"
        )


class HtmlSearch:
    """A site's HTML search, read page 1, 2, … until a page has no photos."""

    name = ""
    fetcher: PageFetcher

    def pages(self, query: str) -> Iterator[list[PhotoRef]]:
        for page in count(1):
            response = self.fetcher.get(self.search_url(query, page), html=True)
            photos = self.parse(response)
            if not photos:
                end_of_results(self.name, query, page, response.url, response)
                return
            yield photos

    def search_url(self, query: str, page: int) -> str:
        raise NotImplementedError

    def parse(self, response: requests.Response) -> list[PhotoRef]:
        raise NotImplementedError


class FlickrHtml(HtmlSearch):
    name = "flickr"

    def __init__(
        self, fetcher: PageFetcher, base_url: str = flickr_html.SITE, license: str = "any"
    ):
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.license = license

    def search_url(self, query: str, page: int) -> str:
        params = {"text": query, "page": page}
        if self.license == "cc":
            params["license"] = flickr_html.CREATIVE_COMMONS
        return f"{self.base_url}/search/?{urlencode(params)}"

    def parse(self, response: requests.Response) -> list[PhotoRef]:
        return flickr_html.parse_search_page(
            response.text,
            response.url,
            site=self.base_url,
            license="Creative Commons (search filter)" if self.license == "cc" else "",
        )


class FlickrApi:
    name = "flickr"

    def __init__(
        self,
        fetcher: PageFetcher,
        api_key: str,
        base_url: str = flickr_api.API,
        license: str = "any",
    ):
        self.fetcher = fetcher
        self.api_key = api_key
        self.endpoint = base_url.rstrip("/") + "/services/rest/"
        self.license = license

    def pages(self, query: str) -> Iterator[list[PhotoRef]]:
        for page in count(1):
            if (page - 1) * flickr_api.PER_PAGE >= flickr_api.RESULTS_CAP:
                return
            params = {
                "method": "flickr.photos.search",
                "api_key": self.api_key,
                "text": query,
                "page": page,
                "per_page": flickr_api.PER_PAGE,
                "extras": flickr_api.EXTRAS,
                "media": "photos",
                "content_type": 1,
                "safe_search": 1,
                "sort": "relevance",
                "format": "json",
                "nojsoncallback": 1,
            }
            if self.license == "cc":
                params["license"] = flickr_html.CREATIVE_COMMONS
            url = f"{self.endpoint}?{urlencode(params)}"
            payload = _json(self.fetcher.get(url, html=False))
            if payload.get("stat") != "ok":
                raise SourceError(
                    f"Flickr API error {payload.get('code', '?')}: {payload.get('message', 'no message')}"
                )
            result = payload.get("photos") or {}
            photos = flickr_api.photos_from_search(result.get("photo") or [], redact(url))
            if not photos:
                end_of_results("flickr", query, page, url)
                return
            yield photos
            if page >= int(result.get("pages") or 0):
                return


class ImgurHtml(HtmlSearch):
    name = "imgur"

    def __init__(
        self, fetcher: PageFetcher, base_url: str = imgur.SITE, image_host: str = imgur.IMAGE_HOST
    ):
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.image_host = image_host

    def search_url(self, query: str, page: int) -> str:
        params = {"q": query} if page == 1 else {"q": query, "page": page}
        return f"{self.base_url}/search?{urlencode(params)}"

    def parse(self, response: requests.Response) -> list[PhotoRef]:
        return imgur.parse_page(response.text, response.url, image_host=self.image_host)


class ImgurApi:
    name = "imgur"

    def __init__(self, fetcher: PageFetcher, client_id: str, base_url: str = imgur.API):
        self.fetcher = fetcher
        self.client_id = client_id
        self.base_url = base_url.rstrip("/")

    def pages(self, query: str) -> Iterator[list[PhotoRef]]:
        for page in count(0):  # the Imgur API counts pages from 0
            url = f"{self.base_url}/3/gallery/search/time/all/{page}?{urlencode({'q': query})}"
            response = self.fetcher.get(
                url, html=False, headers={"Authorization": f"Client-ID {self.client_id}"}
            )
            payload = _json(response)
            if not payload.get("success", True):
                raise SourceError(
                    f"Imgur API error: {payload.get('data', {}).get('error', 'no message')}"
                )
            photos = imgur.parse_api_search(payload, url) if payload.get("data") else []
            if not photos:
                end_of_results("imgur", query, page + 1, url)  # end_of_results counts pages from 1
                return
            yield photos


def _json(response: requests.Response) -> dict:
    try:
        return response.json()
    except ValueError:
        raise SourceError(
            f"{host_of(response.url)} sent something that is not JSON for {redact(response.url)}"
        ) from None


def make_source(
    name: str, fetcher: PageFetcher, *, base_url: str = "", api: bool = False, license: str = "any"
):
    """The source for a name, in API mode when asked (--api) or when its key is set."""
    if name == "flickr":
        key = os.environ.get("FLICKR_API_KEY", "")
        if api and not key:
            raise MissingCredentials(
                "--api needs a Flickr API key in the FLICKR_API_KEY environment variable"
            )
        if key:
            return FlickrApi(fetcher, key, base_url or flickr_api.API, license)
        return FlickrHtml(fetcher, base_url or flickr_html.SITE, license)
    if name == "imgur":
        if license == "cc":
            raise PlanError("Imgur has no licence filter; use --license any for Imgur")
        client_id = os.environ.get("IMGUR_CLIENT_ID", "")
        if api and not client_id:
            raise MissingCredentials(
                "--api needs an Imgur client id in the IMGUR_CLIENT_ID environment variable"
            )
        if client_id:
            return ImgurApi(fetcher, client_id, base_url or imgur.API)
        # A mirror or test server serves the images itself.
        return ImgurHtml(fetcher, base_url or imgur.SITE, base_url or imgur.IMAGE_HOST)
    raise PlanError(f"unknown source {name!r}; choose one of {', '.join(SOURCES)}")


def distinct_pages(
    pages: Iterator[list[PhotoRef]], max_pages: int = MAX_PAGES
) -> Iterator[list[PhotoRef]]:
    """Stop on an empty page or one that only repeats photos already seen (sites loop their last page)."""
    seen: set[str] = set()
    for number, photos in enumerate(pages, start=1):
        fresh = [photo for photo in photos if photo.photo_id not in seen]
        if not fresh:
            return
        seen.update(photo.photo_id for photo in fresh)
        yield fresh
        if number >= max_pages:
            return
