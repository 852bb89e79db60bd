"""The real `petclf scrape` against a local stand-in for Flickr and Imgur, end to end."""

import csv
import fcntl
import hashlib
import signal
import subprocess
import time
from pathlib import Path

import imagehash
import pytest
from PIL import Image

import scraping
from scraping.manifest import COLUMNS
from scraping.plan import load_plan
from tests.cli import PETCLF
from tests.scraping.fakesite import FakeSite
from tests.scraping.runs import (
    GOOD,
    MISBEHAVIOUR,
    run_without_api_keys,
    scrape_command,
    summary_of,
)


def read_manifest(out: Path) -> list[dict]:
    with (out / "manifest.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == COLUMNS
        return list(reader)


def assert_manifest_matches_files(out: Path, label: str = "cat") -> list[dict]:
    rows = read_manifest(out)
    files = sorted(p.relative_to(out).as_posix() for p in (out / label).iterdir())
    # no orphans, no temp files
    assert sorted(row["file"] for row in rows if row["class"] == label) == files
    for row in rows:
        data = (out / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert row["file"] == f"{row['class']}/{row['sha256'][:16]}.{row['file'].rsplit('.', 1)[1]}"
        assert int(row["bytes"]) == len(data)
        with Image.open(out / row["file"]) as image:
            assert image.size == (int(row["width"]), int(row["height"]))
            assert {"JPEG": "jpg", "PNG": "png"}[image.format] == row["file"].rsplit(".", 1)[1]
    return rows


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One full run against the misbehaving site, shared by the tests that read it and rerun it."""
    with FakeSite(per_page=12, pages=2, behaviour=MISBEHAVIOUR) as site:
        out = tmp_path_factory.mktemp("first") / "raw"
        summary = summary_of(run_without_api_keys(scrape_command(site.url, out, "--json")))
        yield site, out, summary, list(site.requests)


def test_scrape_keeps_good_photos_and_rejects_junk_with_reasons(first_run):
    site, out, summary, requests = first_run

    assert summary["downloaded"] == GOOD
    assert summary["duplicates"] == {"exact": 1, "near": 1}
    assert summary["rejected"] == {"not_an_image": 1, "too_small": 1, "blank": 1, "placeholder": 1}
    assert summary["failed"] == {"http_404": 1, "http_503": 1}
    assert summary["found"] == 24

    rows = assert_manifest_matches_files(out)
    assert len(rows) == GOOD
    assert len({row["sha256"] for row in rows}) == GOOD
    hashes = [imagehash.hex_to_hash(row["phash"]) for row in rows]
    # no near duplicates kept
    assert min(a - b for i, a in enumerate(hashes) for b in hashes[i + 1 :]) > 4
    # PNGs behind .jpg URLs
    assert {row["file"].rsplit(".", 1)[1] for row in rows} == {
        "jpg",
        "png",
    }
    assert all(row["source"] == "flickr" and row["query"] == "random" for row in rows)
    assert all(row["photo_page_url"].startswith(f"{site.url}/photos/") for row in rows)

    by_tile = {
        site.index_of[row["photo_page_url"].rstrip("/").rsplit("/", 1)[1]]: row for row in rows
    }
    assert not by_tile[14]["image_url"].endswith("_b.jpg")  # fell back to the size the page showed
    assert by_tile[2]["image_url"].endswith("_b.jpg")
    # whichever came first
    assert len(by_tile.keys() & {0, 10}) == 1 and len(by_tile.keys() & {1, 11}) == 1
    assert 15 in by_tile  # the 429 photo arrived on the retry, after the Retry-After pause
    first, second = [
        r for r in requests if r.path == by_tile[15]["image_url"].removeprefix(site.url)
    ]
    assert (first.status, second.status) == (429, 200)
    assert second.start - first.start >= 0.9

    # Pages 1 and 2, then page 3 repeats page 2 and the source stops; robots.txt read first.
    assert [r.path for r in requests if r.kind in ("robots", "page")] == [
        "/robots.txt",
        "/search/?text=random&page=1",
        "/search/?text=random&page=2",
        "/search/?text=random&page=3",
    ]
    rejected = (out / "rejected.csv").read_text()
    assert "too_small" in rejected and "duplicate" in rejected and "not_an_image" not in rejected


def test_second_run_downloads_nothing_new(first_run):
    site, out, _, _ = first_run
    kept = {row["image_url"] for row in read_manifest(out)}
    before = len(site.requests)

    again = summary_of(run_without_api_keys(scrape_command(site.url, out, "--json")))
    assert again["downloaded"] == 0
    # kept ones, plus lasting rejections (3) and duplicates (2)
    assert again["already_have"] == GOOD + 5
    second_run_images = {r.path for r in site.requests[before:] if r.kind == "image"}
    assert not {site.url + path for path in second_run_images} & kept
    # Only what may succeed on a retry is fetched again: the HTML error page, the 404 and the 503.
    assert {site.index_of[path.rsplit("/", 1)[1].split("_")[0]] for path in second_run_images} == {
        12,
        13,
        19,
    }
    assert len(read_manifest(out)) == GOOD


def test_limit_stops_without_fetching_more_than_needed(site, tmp_path):
    out = tmp_path / "raw"
    summary = summary_of(
        run_without_api_keys(scrape_command(site.url, out, "--json", "--limit", "5"))
    )
    assert summary["downloaded"] == 5
    assert len(list((out / "cat").iterdir())) == 5
    assert len(site.of_kind("image")) == 5  # tiles 0-4 are all good: nothing fetched in vain
    assert len(site.of_kind("page")) == 1


def test_killed_run_resumes_cleanly(tmp_path):
    out = tmp_path / "raw"
    with FakeSite(
        per_page=12, pages=2, behaviour={3: "html", 7: "dup_of:2"}, image_delay=0.25
    ) as site:
        process = subprocess.Popen(
            [PETCLF, *scrape_command(site.url, out, "--per-host", "1")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _rows(out) < 4:
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert 4 <= _rows(out) < 22, "the kill should land mid-run"
        killed_at = _rows(out)
        # Whatever the kill interrupted: every row names a complete file with its hash.
        for row in read_manifest(out):
            assert hashlib.sha256((out / row["file"]).read_bytes()).hexdigest() == row["sha256"]

        site.image_delay = 0
        summary = summary_of(run_without_api_keys(scrape_command(site.url, out, "--json")))
        assert summary["downloaded"] + killed_at == 22
        rows = assert_manifest_matches_files(out)
        assert len(rows) == 22 and len({row["sha256"] for row in rows}) == 22


def test_files_left_by_a_kill_are_cleaned_or_adopted(site, tmp_path):
    """A kill between rename and manifest append leaves a file without a row; mid-write, a temp file."""
    out = tmp_path / "raw"
    folder = out / "cat"
    folder.mkdir(parents=True)
    data = site.image_bytes(0)
    orphan = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.jpg"
    orphan.write_bytes(data)
    (folder / f".{orphan.name}.part").write_bytes(data[:100])

    summary = summary_of(run_without_api_keys(scrape_command(site.url, out, "--json")))
    assert summary["recovered"] == 1 and summary["downloaded"] == GOOD
    assert summary["duplicates"] == {"exact": 1, "near": 1}  # tile 10 repeats tile 0's bytes
    rows = assert_manifest_matches_files(out)
    assert [row["image_url"] for row in rows if row["file"] == f"cat/{orphan.name}"][0].startswith(
        site.url
    )


def _rows(out: Path) -> int:
    path = out / "manifest.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def test_geoblocked_source_is_a_clear_error_not_zero_images(site, tmp_path):
    result = run_without_api_keys(
        [
            "scrape",
            "--source",
            "imgur",
            "--query",
            "blocked",
            "--class",
            "cat",
            "--out",
            str(tmp_path / "raw"),
            "--base-url",
            site.url,
            "--pages-per-second",
            "20",
        ]
    )
    assert result.returncode == 1
    assert "not available in this region" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("petclf scrape: error:")


def test_a_search_without_results_says_so(site, tmp_path):
    command = scrape_command(site.url, tmp_path / "raw")
    command[command.index("flickr")], command[command.index("random")] = "imgur", "nothing"
    result = run_without_api_keys(command)
    assert result.returncode == 1
    assert "imgur found no photos for 'nothing'" in result.stderr


def test_imgur_search_page(site, tmp_path):
    out = tmp_path / "raw"
    command = [*scrape_command(site.url, out, "--json")]
    command[command.index("flickr")] = "imgur"
    summary_of(run_without_api_keys(command))
    rows = assert_manifest_matches_files(out)
    assert len(rows) == site.imgur_posts
    assert {row["photo_page_url"] for row in rows} == {
        f"{site.url}/gallery/{site.imgur_hash(n)}" for n in range(6)
    }
    assert all(row["source"] == "imgur" for row in rows)


def test_imgur_api_gallery_search(site, tmp_path):
    out = tmp_path / "raw"
    command = scrape_command(site.url, out, "--json", "--api")
    command[command.index("flickr")] = "imgur"
    summary = summary_of(run_without_api_keys(command, env={"IMGUR_CLIENT_ID": site.api_key}))
    assert summary["downloaded"] == site.imgur_posts  # the album's video is skipped
    rows = assert_manifest_matches_files(out)
    assert {row["owner"] for row in rows} == {
        "ann <https://imgur.com/user/ann>",
        "bob <https://imgur.com/user/bob>",
    }
    assert [r.path for r in site.of_kind("api")] == [
        "/3/gallery/search/time/all/0?q=random",
        "/3/gallery/search/time/all/1?q=random",
    ]

    refused = run_without_api_keys(command, env={"IMGUR_CLIENT_ID": "nope"})
    assert refused.returncode == 1 and "HTTP 403" in refused.stderr and "nope" not in refused.stderr


def test_robots_txt_is_obeyed_unless_ignored_loudly(site, tmp_path):
    blocked = run_without_api_keys(scrape_command(f"{site.url}/private", tmp_path / "a"))
    assert blocked.returncode == 1
    assert "robots.txt" in blocked.stderr and "disallows" in blocked.stderr
    assert not [r for r in site.requests if r.path.startswith("/private/")]

    allowed = run_without_api_keys(
        scrape_command(f"{site.url}/private", tmp_path / "b", "--ignore-robots", "--limit", "3")
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "WARNING: --ignore-robots" in allowed.stderr
    assert len(list((tmp_path / "b" / "cat").iterdir())) == 3


def test_flickr_api_records_licence_and_hides_the_key(site, tmp_path):
    out = tmp_path / "raw"
    summary = summary_of(
        run_without_api_keys(
            scrape_command(site.url, out, "--json", "--limit", "4", "--license", "cc"),
            env={"FLICKR_API_KEY": site.api_key},
        )
    )
    assert summary["downloaded"] == 4
    rows = read_manifest(out)
    assert {row["license"] for row in rows} == {"CC BY 2.0"}
    assert all("api_key=REDACTED" in row["search_page_url"] for row in rows)
    assert site.api_key not in (out / "manifest.csv").read_text()
    assert all(row["owner"].startswith("Owner of ") for row in rows)
    [api_call] = site.of_kind("api")
    assert (
        "license=1%2C2%2C3%2C4%2C5%2C6%2C9%2C10" in api_call.path and "text=random" in api_call.path
    )

    wrong = run_without_api_keys(
        scrape_command(site.url, tmp_path / "x"), env={"FLICKR_API_KEY": "wrong"}
    )
    assert (
        wrong.returncode == 1 and "Invalid API Key" in wrong.stderr and "wrong" not in wrong.stderr
    )


def test_plan_fills_each_class_up_to_its_limit(site, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'limit_per_class = 3\nsources = ["flickr"]\n'
        '[classes.cat]\nqueries = ["random"]\n'
        '[classes.hamster]\nqueries = ["pet hamster"]\nsources = ["imgur"]\n'
        '[classes.bird]\nqueries = ["blocked", "small bird"]\nsources = ["imgur", "flickr"]\n'
    )
    out = tmp_path / "raw"
    result = run_without_api_keys(
        [
            "scrape",
            "--plan",
            str(plan),
            "--out",
            str(out),
            "--base-url",
            site.url,
            "--pages-per-second",
            "20",
        ]
    )
    # One source walled off: said loudly, the run goes on with the others, and the exit code tells.
    assert result.returncode == 1
    assert "not available in this region" in result.stderr
    assert "not using imgur for the rest of this run" in result.stderr
    rows = read_manifest(out)
    assert sorted(row["class"] for row in rows) == ["bird"] * 3 + ["cat"] * 3 + ["hamster"] * 3
    assert {row["source"] for row in rows if row["class"] == "hamster"} == {"imgur"}
    assert {row["source"] for row in rows if row["class"] == "bird"} == {"flickr"}
    assert "source error imgur" in result.stdout


def test_shipped_plan_covers_the_six_classes():
    jobs = load_plan(Path(scraping.__file__).with_name("classes.toml"))
    assert {job.label for job in jobs} == {
        "cat",
        "dog",
        "bird",
        "fish",
        "hamster",
        "bearded_dragon",
    }
    assert all(len(job.queries) >= 3 and job.limit == 500 for job in jobs)


def test_one_run_at_a_time_per_output_folder(site, tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    with (out / ".scrape.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running scrape holds it
        busy = run_without_api_keys(scrape_command(site.url, out))
    assert busy.returncode == 1 and "another petclf scrape is writing to" in busy.stderr
    assert not site.requests


def test_bad_command_lines_say_what_is_wrong(tmp_path):
    missing = run_without_api_keys(["scrape", "--source", "flickr"])
    assert missing.returncode == 1 and "missing --query, --class" in missing.stderr
    plan = tmp_path / "bad.toml"
    plan.write_text("[classes.cat]\nqueries = []\n")
    bad_plan = run_without_api_keys(["scrape", "--plan", str(plan)])
    assert bad_plan.returncode == 1 and "needs a non-empty list of queries" in bad_plan.stderr
    no_key = run_without_api_keys([*scrape_command("http://127.0.0.1:9", tmp_path), "--api"])
    assert no_key.returncode == 1 and "FLICKR_API_KEY" in no_key.stderr
    # nothing listens there
    unreachable = run_without_api_keys(scrape_command("http://127.0.0.1:9", tmp_path))
    assert unreachable.returncode == 1 and "robots.txt could not be read" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
