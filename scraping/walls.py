"""Recognise pages that stand in front of results: consent, region block, sign-in.

A site that shows one of these has not said "no results"; the scrape must stop and say so.
"""

import re
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from scraping.errors import AccessWall, ConsentWall, GeoBlocked, LoginWall

GEO_TEXT = re.compile(
    r"not available in your (region|country|location)|unavailable in your (region|country)"
    r"|content not available|blocked in your (region|country)",
    re.I,
)
CONSENT_TEXT = re.compile(
    r"before you continue|we value your privacy|consent to (our|the) use of cookies|manage (your )?consent"
    r"|accept all cookies",
    re.I,
)
CONSENT_HOSTS = re.compile(r"(^|\.)(consent|guce)\.", re.I)
LOGIN_PATHS = re.compile(r"^/(signin|login|sign-in|log-in|account/login|accounts/login)\b", re.I)
LOGIN_TITLE = re.compile(r"\b(sign in|log in|login)\b", re.I)


def find_wall(html: str, url: str, status: int = 200) -> AccessWall | None:
    """The wall this response shows, as the error to raise, or None for a normal page."""
    parts = urlsplit(url)
    where = parts.netloc or url
    if status == 451:
        return GeoBlocked(f"{where} refuses to serve this region (HTTP 451) for {url}")
    if status == 401 or LOGIN_PATHS.match(parts.path):
        return LoginWall(
            f"{where} asks to sign in before showing {url}; use the source's API with a key instead"
        )
    if CONSENT_HOSTS.search(parts.netloc):
        return ConsentWall(f"{where} shows a cookie-consent page instead of results ({url})")
    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    heading = " ".join(h.get_text(" ", strip=True) for h in soup.find_all(["h1", "h2"], limit=4))
    # Only the title, headings and short pages decide: a results page may mention these words in a footer.
    visible = f"{title} {heading}" if len(html) > 20_000 else soup.get_text(" ", strip=True)
    if GEO_TEXT.search(visible):
        return GeoBlocked(
            f'{where} says its content is not available in this region ({url}): "{title or heading}"'
        )
    if CONSENT_TEXT.search(visible):
        return ConsentWall(
            f'{where} shows a cookie-consent page instead of results ({url}): "{title or heading}"'
        )
    if LOGIN_TITLE.search(title) and soup.find("input", attrs={"type": "password"}):
        return LoginWall(
            f"{where} shows a sign-in page instead of results ({url}); use the source's API with a key"
        )
    return None
