"""Download checks, duplicate lookup and the manifest's crash safety, on generated images."""

import pytest
from PIL import Image

from scraping import manifest
from scraping.dedupe import HashIndex
from scraping.errors import ImageRejected
from scraping.quality import check_image
from tests.imagegen import encode
from tests.scraping.fakesite import HTML_ERROR, photo_image


@pytest.mark.parametrize(
    ("data", "url", "reason"),
    [
        (HTML_ERROR, "https://live.staticflickr.com/1/2_a_b.jpg", "not_an_image"),
        (b"", "https://x/a.jpg", "not_an_image"),
        (encode(photo_image(1))[:400], "https://x/a.jpg", "corrupt"),
        (encode(photo_image(1, size=(300, 80))), "https://x/a.jpg", "too_small"),
        (encode(Image.new("RGB", (400, 300), (250, 250, 250))), "https://x/a.jpg", "blank"),
        (
            encode(photo_image(1)),
            "https://s.yimg.com/pw/images/en-us/photo_unavailable_l.png",
            "placeholder",
        ),
        (encode(photo_image(1)), "https://i.imgur.com/removed.png", "placeholder"),
    ],
)
def test_junk_is_rejected_with_its_reason(data, url, reason):
    with pytest.raises(ImageRejected) as caught:
        check_image(data, url)
    assert caught.value.reason == reason


def test_extension_comes_from_the_content():
    checked = check_image(encode(photo_image(2), "PNG"), "https://x/looks-like.jpg")
    assert (checked.extension, checked.width, checked.height) == ("png", 320, 240)
    assert check_image(encode(photo_image(2), "WEBP"), "https://x/a.jpg").extension == "webp"


def test_duplicates_exact_and_near():
    index = HashIndex(near_distance=4)
    original = check_image(encode(photo_image(3)))
    index.add(original.sha256, original.phash, "cat/a.jpg")
    resized = check_image(encode(photo_image(3).resize((280, 210)), "JPEG", quality=60))
    other = check_image(encode(photo_image(4)))
    assert index.exact(original.sha256) == "cat/a.jpg"
    assert index.exact(resized.sha256) is None
    assert index.near(resized.phash) == "cat/a.jpg"
    assert index.near(other.phash) is None


def test_manifest_drops_a_row_torn_by_a_kill(tmp_path):
    path = tmp_path / manifest.FILENAME
    row = dict.fromkeys(manifest.COLUMNS, "x")
    manifest.append(path, row)
    manifest.append(path, {**row, "file": "cat/b.jpg"})
    whole = path.read_bytes()
    path.write_bytes(whole + whole.splitlines(keepends=True)[-1][:20])  # a second write cut short
    assert [r["file"] for r in manifest.load(path)] == ["x", "cat/b.jpg"]
    assert path.read_bytes() == whole
