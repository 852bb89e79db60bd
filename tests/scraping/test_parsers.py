"""The page parsers on real captured markup, and on the other forms the sites use."""

import json
import re

import pytest

from scraping import GeoBlocked
from scraping.errors import ConsentWall, LoginWall
from scraping.flickr_api import photos_from_search
from scraping.flickr_html import larger_size, parse_search_page
from scraping.imgur import image_hash, parse_api_search, parse_page
from scraping.photos import PhotoRef
from scraping.sources import distinct_pages, redact
from scraping.walls import find_wall
from tests.scraping.fakesite import FLICKR_CAPTURE, IMGUR_GEOBLOCK, IMGUR_POST

# Counted independently of the parser: distinct photo ids in the capture's tile styles
# (`grep -o 'background-image: url(&quot;//live.staticflickr.com/[^&]*' | sort -u | wc -l`).
FLICKR_CAPTURE_PHOTOS = 1393
PAGE = "https://www.flickr.com/search/?text=random&page=1"


@pytest.fixture(scope="module")
def capture_html():
    return FLICKR_CAPTURE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def capture_photos(capture_html):
    return parse_search_page(capture_html, PAGE)


def test_flickr_capture_yields_every_tile_photo(capture_html, capture_photos):
    styles = re.findall(
        r"background-image: url\(&quot;//live\.staticflickr\.com/\d+/(\d+)_", capture_html
    )
    assert len(set(styles)) == FLICKR_CAPTURE_PHOTOS
    assert len(capture_photos) == FLICKR_CAPTURE_PHOTOS
    assert {photo.photo_id for photo in capture_photos} == set(styles)


def test_flickr_capture_photos_are_large_with_page_and_owner(capture_photos):
    first = capture_photos[0]
    assert first.image_urls == (
        "https://live.staticflickr.com/65535/49052701512_efd64f14bd_b.jpg",
        "https://live.staticflickr.com/65535/49052701512_efd64f14bd_m.jpg",
    )
    assert first.photo_page_url == "https://www.flickr.com/photos/angelwerx/49052701512/"
    assert first.owner == "Bryce Sun <https://www.flickr.com/photos/angelwerx/>"
    assert all(photo.image_url.endswith("_b.jpg") for photo in capture_photos)
    assert all(
        photo.photo_page_url.startswith("https://www.flickr.com/photos/")
        for photo in capture_photos
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("//live.staticflickr.com/1/2_ab_m.jpg", "//live.staticflickr.com/1/2_ab_b.jpg"),
        (
            "https://farm1.staticflickr.com/1/2_ab_n.jpg",
            "https://farm1.staticflickr.com/1/2_ab_b.jpg",
        ),
        (
            "https://live.staticflickr.com/1/2_ab_q.jpg",
            "https://live.staticflickr.com/1/2_ab_b.jpg",
        ),
        (
            "https://live.staticflickr.com/1/2_ab_s.jpg",
            "https://live.staticflickr.com/1/2_ab_b.jpg",
        ),
        (
            "https://live.staticflickr.com/1/2_ab_t.jpg",
            "https://live.staticflickr.com/1/2_ab_b.jpg",
        ),
        ("https://live.staticflickr.com/1/2_ab.jpg", "https://live.staticflickr.com/1/2_ab_b.jpg"),
        (
            "https://live.staticflickr.com/1/2_ab_k.jpg",
            "https://live.staticflickr.com/1/2_ab_k.jpg",
        ),
        ("https://example.com/logo.png", "https://example.com/logo.png"),
    ],
)
def test_thumbnail_sizes_become_large(url, expected):
    assert larger_size(url) == expected


def test_flickr_img_srcset_form():
    html = """<div><a href="/photos/someone/123/"><img src="https://live.staticflickr.com/9/123_ff_t.jpg"
      srcset="https://live.staticflickr.com/9/123_ff_m.jpg 240w, https://live.staticflickr.com/9/123_ff_n.jpg 320w"></a>
      <img src="https://combo.staticflickr.com/pw/images/buddyicon.gif"></div>"""
    [photo] = parse_search_page(html, PAGE)
    assert photo.image_urls == (
        "https://live.staticflickr.com/9/123_ff_b.jpg",
        "https://live.staticflickr.com/9/123_ff_n.jpg",
    )
    assert photo.photo_page_url == "https://www.flickr.com/photos/someone/123/"


def test_flickr_embedded_json_model_form():
    model = {
        "main": {
            "search-photos-lite-models": [
                {
                    "data": {
                        "photos": {
                            "data": {
                                "_data": [
                                    {
                                        "id": "456",
                                        "secret": "ee",
                                        "server": "7",
                                        "license": 4,
                                        "ownerNsid": "1@N00",
                                        "pathAlias": "pat",
                                        "realname": "Pat",
                                        "sizes": {
                                            "data": {
                                                "m": {
                                                    "data": {
                                                        "url": "//live.staticflickr.com/7/456_ee_m.jpg"
                                                    }
                                                }
                                            }
                                        },
                                    },
                                ]
                            }
                        }
                    }
                }
            ]
        }
    }
    html = (
        f"<html><body><script>modelExport: {json.dumps(model)}, auth: {{}}</script></body></html>"
    )
    [photo] = parse_search_page(html, PAGE)
    assert photo.image_url == "https://live.staticflickr.com/7/456_ee_b.jpg"
    assert photo.photo_page_url == "https://www.flickr.com/photos/pat/456/"
    assert photo.owner == "Pat <https://www.flickr.com/photos/pat/>"
    assert photo.license == "CC BY 2.0"


def test_flickr_api_answer():
    # no URL extras: nothing to download
    entries = [
        {
            "id": "9",
            "owner": "1@N00",
            "pathalias": "",
            "ownername": "Ann",
            "license": "9",
            "url_m": "https://live.staticflickr.com/1/9_a_m.jpg",
            "url_b": "https://live.staticflickr.com/1/9_a_b.jpg",
        },
        {"id": "10", "owner": "1@N00", "license": "0"},
    ]
    [photo] = photos_from_search(entries, "https://api.flickr.com/services/rest/?api_key=REDACTED")
    assert photo.image_urls == (
        "https://live.staticflickr.com/1/9_a_b.jpg",
        "https://live.staticflickr.com/1/9_a_m.jpg",
    )
    assert photo.license == "CC0 1.0"
    assert photo.photo_page_url == "https://www.flickr.com/photos/1@N00/9/"


def test_keys_never_reach_recorded_urls():
    url = "https://api.flickr.com/services/rest/?method=x&api_key=sekrit&text=cat"
    assert "sekrit" not in redact(url) and "api_key=REDACTED" in redact(url)


def test_imgur_geoblock_page_is_recognised():
    html = IMGUR_GEOBLOCK.read_text(encoding="utf-8")
    assert parse_page(html, "https://imgur.com/a/9TP6hPU") == []
    wall = find_wall(html, "https://imgur.com/a/9TP6hPU")
    assert isinstance(wall, GeoBlocked)
    assert "not available in this region" in str(wall)


def test_imgur_saved_post_page_is_parsed():
    html = IMGUR_POST.read_text(encoding="utf-8")
    [photo] = parse_page(html, "https://imgur.com/rPP4Cud")
    assert photo.image_url == "https://i.imgur.com/rPP4Cud.webp"
    assert photo.photo_page_url == "https://imgur.com/rPP4Cud"
    assert find_wall(html, "https://imgur.com/rPP4Cud") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("abcdefgb.jpg", ("abcdefg", "jpg")),
        ("abcdefg.png", ("abcdefg", "png")),
        ("abcdeh.gif", ("abcde", "gif")),
        ("rPP4Cud_d.webp", ("rPP4Cud", "webp")),
        ("favicon-32x32.png", None),
        ("px.gif", None),
        ("abcdefgz.jpg", None),
    ],
)
def test_imgur_image_hashes(name, expected):
    assert image_hash(f"https://i.imgur.com/{name}") == expected


def test_imgur_api_keeps_still_images_only():
    payload = {
        "success": True,
        "data": [
            {
                "id": "post1",
                "is_album": True,
                "link": "https://imgur.com/a/post1",
                "account_url": "ann",
                "images": [
                    {
                        "id": "aaaaaaa",
                        "type": "image/jpeg",
                        "link": "https://i.imgur.com/aaaaaaa.jpg",
                    },
                    {
                        "id": "bbbbbbb",
                        "type": "video/mp4",
                        "link": "https://i.imgur.com/bbbbbbb.mp4",
                    },
                    {
                        "id": "ccccccc",
                        "type": "image/gif",
                        "animated": True,
                        "link": "https://i.imgur.com/ccccccc.gif",
                    },
                ],
            },
            {
                "id": "ddddddd",
                "is_album": False,
                "type": "image/png",
                "link": "https://i.imgur.com/ddddddd.png",
            },
        ],
    }
    photos = parse_api_search(payload, "https://api.imgur.com/3/gallery/search/time/all/0?q=cat")
    assert [p.photo_id for p in photos] == ["aaaaaaa", "ddddddd"]
    assert photos[0].owner == "ann <https://imgur.com/user/ann>"
    assert photos[0].photo_page_url == "https://imgur.com/a/post1"


def test_consent_and_login_walls_are_recognised(capture_html):
    consent = "<html><head><title>Before you continue</title></head><body><form action='/save'></form></body></html>"
    assert isinstance(find_wall(consent, "https://www.flickr.com/search/?text=cat"), ConsentWall)
    assert isinstance(
        find_wall("", "https://consent.yahoo.com/v2/collectConsent?sessionId=1"), ConsentWall
    )
    login = "<html><head><title>Sign in | Flickr</title></head><body><input type='password'></body></html>"
    assert isinstance(find_wall(login, "https://www.flickr.com/search/?text=cat"), LoginWall)
    assert isinstance(find_wall("", "https://imgur.com/signin?redirect=%2Fsearch"), LoginWall)
    assert find_wall(capture_html, PAGE) is None


def test_paging_stops_on_empty_or_repeated_page():
    def page(*ids):
        return [PhotoRef("flickr", i, (f"https://x/{i}.jpg",), "https://x/s") for i in ids]

    assert [
        len(p) for p in distinct_pages(iter([page("1", "2"), page("3"), page("3"), page("4")]))
    ] == [2, 1]
    assert [len(p) for p in distinct_pages(iter([page("1"), [], page("2")]))] == [1]
    assert [len(p) for p in distinct_pages(iter([page("1", "2"), page("2", "5")]))] == [2, 1]
