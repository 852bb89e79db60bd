"""flickr.photos.search answers → PhotoRefs. Pure functions."""

from scraping.flickr_html import LICENSES, SITE, flickr_tags
from scraping.photos import PhotoRef, owner_label

API = "https://api.flickr.com"
RESULTS_CAP = 4000  # flickr.photos.search returns no more than this per query
PER_PAGE = 250
EXTRAS = "url_b,url_c,url_z,url_m,license,owner_name,path_alias,tags"


def photos_from_search(entries: list[dict], page_url: str) -> list[PhotoRef]:
    """flickr.photos.search `photo` entries (with our extras) → PhotoRefs, largest URL first."""
    photos = []
    for entry in entries:
        urls = tuple(entry[key] for key in ("url_b", "url_c", "url_z", "url_m") if entry.get(key))
        if not urls:
            continue
        owner_id = entry.get("pathalias") or entry.get("owner") or ""
        photos.append(
            PhotoRef(
                source="flickr",
                photo_id=str(entry["id"]),
                image_urls=urls,
                search_page_url=page_url,
                photo_page_url=f"{SITE}/photos/{owner_id}/{entry['id']}/" if owner_id else "",
                owner=owner_label(
                    entry.get("ownername", ""), f"{SITE}/photos/{owner_id}/" if owner_id else ""
                ),
                license=LICENSES.get(str(entry.get("license", "")), ""),
                tags=flickr_tags(entry.get("tags")),
            )
        )
    return photos
