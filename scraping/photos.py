"""What a source found: one photo, before it is downloaded."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PhotoRef:
    source: str  # "flickr" | "imgur"
    photo_id: str  # the site's id, for spotting repeated pages
    # best first; later ones are fallbacks (e.g. the size the page showed)
    image_urls: tuple[str, ...]
    search_page_url: str
    photo_page_url: str = ""
    owner: str = ""  # "Name <profile URL>", or whichever of the two the source gave
    license: str = ""  # only when the source says
    tags: tuple[str, ...] = ()  # the photo's tags on the site, when the source gives them

    @property
    def image_url(self) -> str:
        return self.image_urls[0]


def owner_label(name: str, url: str) -> str:
    name, url = name.strip(), url.strip()
    if name and url:
        return f"{name} <{url}>"
    return name or url
