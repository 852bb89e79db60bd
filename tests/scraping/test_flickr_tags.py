"""Flickr tags: recorded by the scraper in its manifest, turned into a labels file for tags models."""

import csv
import json

from petclf.cli import main
from scraping import manifest
from scraping.flickr_api import photos_from_search
from scraping.flickr_html import parse_search_page
from tests.training.test_cli import assert_one_clear_line, run_cli
from training.tag_labels import read_tag_labels


def test_the_api_and_the_page_model_give_each_photos_tags_once_in_lower_case():
    [photo] = photos_from_search(
        [{"id": "7", "url_b": "https://x/1/7_ab_b.jpg", "tags": "Cat kitten cat  sofa"}], "page"
    )
    assert photo.tags == ("cat", "kitten", "sofa")
    model = {
        "photos": [
            {
                "id": "8",
                "secret": "cd",
                "sizes": {"m": {"url": "https://live.staticflickr.com/1/8_cd_m.jpg"}},
                "tags": [{"content": "Dog"}, {"raw": "puppy"}, "dog"],
            }
        ]
    }
    html = f"<html><script>modelExport: {json.dumps(model)}</script></html>"
    [from_page] = parse_search_page(html, "https://www.flickr.com/search/?text=dog")
    assert from_page.tags == ("dog", "puppy")


def test_a_manifest_from_before_tags_gains_the_column_on_the_next_row(tmp_path):
    path = tmp_path / manifest.FILENAME
    old_columns = manifest.COLUMNS[:-1]
    manifest.append(path, {column: "old" for column in old_columns}, old_columns)
    manifest.append(path, {column: "new" for column in manifest.COLUMNS})
    rows = manifest.load(path)
    assert [row["tags"] for row in rows] == ["", "new"]
    assert all(row["file"] == value for row, value in zip(rows, ("old", "new")))


def _scrape_with_api(site, out, monkeypatch) -> None:
    monkeypatch.setenv("FLICKR_API_KEY", site.api_key)
    argv = ["scrape", "--source", "flickr", "--query", "random", "--class", "cat"]
    argv += ["--out", str(out), "--base-url", site.url, "--pages-per-second", "20"]
    assert main([*argv, "--retries", "1", "--limit", "6"]) == 0


def test_scraped_tags_become_a_labels_file_of_the_tags_on_enough_photos(
    site, tmp_path, monkeypatch, capsys
):
    raw = tmp_path / "raw"
    _scrape_with_api(site, raw, monkeypatch)
    [api_call] = site.of_kind("api")
    assert "tags" in api_call.path  # asked for with extras
    with (raw / manifest.FILENAME).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert all(row["tags"].startswith("cat") for row in rows)
    assert any("kitten" in row["tags"].split(";") for row in rows)

    labels = tmp_path / "labels" / "tags.csv"
    code, _, err = run_cli(
        capsys,
        "tags",
        "from-manifest",
        "--manifest",
        raw / manifest.FILENAME,
        "--out",
        labels,
        "--min-photos",
        "2",
    )
    assert code == 0, err
    read = read_tag_labels(labels)
    assert len(read) == 6  # every photo has "cat"; files are found relative to the labels file
    assert "onlyone" not in read.tags and {"cat", "kitten"} <= set(read.tags)

    code, _, err = run_cli(
        capsys,
        "tags",
        "from-manifest",
        "--manifest",
        raw / manifest.FILENAME,
        "--out",
        labels,
        "--min-photos",
        "99",
    )
    assert_one_clear_line(code, err, "tags", "no tag", "lower --min-photos")
