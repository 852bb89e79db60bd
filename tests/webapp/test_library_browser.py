"""The library pages in a real headless Chromium on real gunicorn: the offline map (land outlines,
clustered markers) and the plots load with no script error or CSP violation; filter by class; filter
by radius, typed or clicked on the map; open a photo (large view, map pin, predictions); upload from
the page, a few photos at once and many through a job that a real worker runs while the page shows
its progress. Screenshots go into the test's tmp folder."""

import re
import time

import pytest
import requests

from library import QUEUE_FROM_FILES
from tests.projects.helpers import start_worker
from tests.servers import GunicornServer
from tests.webapp.library_support import ADMIN, PARIS, SHOTS, TOKEN, library_home  # noqa: F401
from tests.webapp.test_browser import CHROMIUM, CHROMIUM_ARGS, open_page

DESKTOP = {"viewport": {"width": 1100, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
WAIT_MS = 60_000
WORKER_TIMEOUT_MS = 600_000  # a shared 2-core machine; nothing here measures speed


@pytest.fixture
def site(library_home, tiny_model, tmp_path):
    """gunicorn on a fresh store, with every shot added through the API."""
    with GunicornServer(tiny_model, tmp_path, workers=1, threads=4) as server:
        named = [
            ("file", (shot.name, shot.data(seed), "image/jpeg")) for seed, shot in enumerate(SHOTS)
        ]
        answer = requests.post(
            f"{server.url}/api/v1/library/photos", headers=ADMIN, files=named, timeout=300
        )
        assert answer.status_code == 200, answer.text
        yield server


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def photos(site, query: str = "") -> list[dict]:
    return requests.get(f"{site.url}/api/v1/library/photos?{query}", timeout=30).json()["photos"]


def until(page, script: str) -> None:
    """Poll a function in the page until it returns true (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        time.sleep(0.1)


def land_outline(page, selector: str) -> str:
    """The SVG path of the Natural Earth land on the map: one ring per outline in view (the world has
    125 at 1:110m; zoomed in, Leaflet clips them to the view, and inland that is one rectangle)."""
    land = page.locator(f"{selector} path.land")
    land.wait_for(state="attached", timeout=WAIT_MS)
    return land.get_attribute("d")


def map_ready(page, markers: int, rings: int = 50) -> None:
    """Land drawn and the photos' markers placed (library.js counts them on the map element)."""
    page.wait_for_selector(f'#library-map[data-markers="{markers}"]', timeout=WAIT_MS)
    assert land_outline(page, "#library-map").count("M") >= rings


def grid_labels(page) -> list[str]:
    return page.locator("#photo-grid li").evaluate_all(
        "items => items.map(item => item.dataset.label)"
    )


def test_map_plots_and_filters(browser, site, tmp_path):
    context, page, problems = open_page(browser, f"{site.url}/library", **DESKTOP)
    map_ready(page, markers=len(SHOTS) - 1)  # the photo without GPS has no marker
    # single markers or clusters
    assert page.locator("#library-map .leaflet-marker-icon").count() >= 1
    for plot in ("#plot-months", "#plot-classes"):
        until(page, f"() => document.querySelector('{plot}').complete")
        assert page.locator(plot).evaluate("img => img.naturalWidth") > 100, plot
    page.screenshot(path=str(tmp_path / "library.png"), full_page=True)

    # By class: tick one, filter; the grid holds that class's photos only.
    label = photos(site)[1]["label"]
    expected = [photo["id"] for photo in photos(site, f"class={label}")]
    page.check(f'#class-filter input[value="{label}"]')
    page.click("#apply-filters")
    page.wait_for_url(re.compile(rf"class={label}"))
    assert grid_labels(page) == [label] * len(expected)

    # By radius, typed: the circle follows the fields; the grid keeps Paris and Versailles.
    page.goto(f"{site.url}/library")
    page.fill("#near", PARIS)
    page.fill("#within_km", "50")
    page.wait_for_selector("#library-map path.radius")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r"within_km=50"))
    map_ready(page, markers=2, rings=1)  # zoomed in around Paris
    names = page.locator("#photo-grid img").evaluate_all("images => images.map(image => image.alt)")
    assert names == ["paris.jpg", "versailles.jpg"]
    page.screenshot(path=str(tmp_path / "library-near-paris.png"), full_page=True)

    # By radius, clicked: a click on the map sets the point, a default radius and the circle.
    page.goto(f"{site.url}/library")
    map_ready(page, markers=len(SHOTS) - 1)
    page.fill("#within_km", "")
    page.locator("#library-map").click(position={"x": 200, "y": 150})
    assert re.fullmatch(r"-?\d+\.\d{5},-?\d+\.\d{5}", page.input_value("#near"))
    assert page.input_value("#within_km") == "10"
    assert page.locator("#library-map path.radius").count() == 1
    assert problems == []  # no script errors, no CSP violations
    context.close()


def test_open_a_photo_on_a_phone(browser, site, tmp_path):
    sydney = photos(site, "place=Sydney")[0]
    context, page, problems = open_page(browser, f"{site.url}/library", **PHONE)
    page.click(f'#photo-grid li[data-id="{sydney["id"]}"] a')
    page.wait_for_url(f"{site.url}/library/photos/{sydney['id']}")
    until(page, "() => document.getElementById('large').complete")
    assert page.locator("#large").evaluate("img => img.naturalWidth") > 0
    page.wait_for_selector("#photo-map .leaflet-marker-icon", timeout=WAIT_MS)
    assert land_outline(page, "#photo-map").count("L") > 20  # Australia's coast
    assert page.locator("#bars li.bar").count() == 3
    assert page.locator("#place-name").inner_text() == "Sydney, Australia"
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "photo.png"), full_page=True)
    assert (tmp_path / "photo.png").stat().st_size > 10_000
    assert problems == []
    context.close()


def test_upload_from_the_page_a_few_at_once_and_many_through_a_job(
    browser, site, library_home, tiny_model, tmp_path, monkeypatch
):
    context, page, problems = open_page(browser, f"{site.url}/library/upload", **DESKTOP)
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    page.wait_for_url(f"{site.url}/library/upload")
    new = tmp_path / "new.jpg"
    new.write_bytes(SHOTS[1].data(seed=99))
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    page.set_input_files("#library-files", [str(new), str(notes)])
    page.click("#library-submit")
    status = page.locator("#upload-status").filter(has_text="added")
    assert status.inner_text(timeout=WAIT_MS) == "1 added, 1 damaged."
    assert "notes.jpg:" in page.locator("#upload-outcomes .damaged").inner_text()
    assert len(photos(site)) == len(SHOTS) + 1

    # More than QUEUE_FROM_FILES: a job; the page follows its progress until a worker is done.
    many = []
    for n in range(QUEUE_FROM_FILES + 1):
        many.append(tmp_path / f"many{n}.jpg")
        many[-1].write_bytes(SHOTS[n % len(SHOTS)].data(seed=500 + n))
    page.set_input_files("#library-files", [str(path) for path in many])
    page.click("#library-submit")
    page.locator("#upload-status").filter(has_text="Queued").wait_for(timeout=WAIT_MS)
    assert page.locator("#ingest-progress").is_visible()
    # the worker classifies with the model the site serves
    monkeypatch.setenv("PETCLF_MODEL", str(tiny_model))
    with start_worker(library_home):
        done = page.locator("#upload-status").filter(has_text=re.compile(r"^\d+ added"))
        said = done.inner_text(timeout=WORKER_TIMEOUT_MS)
    added = sum(int(count) for count in re.findall(r"(\d+) (?:added|near duplicate)", said))
    assert added == len(many), said
    assert page.locator("#ingest-progress").evaluate("bar => [bar.value, bar.max]") == [
        len(many),
        len(many),
    ]
    assert len(photos(site, "per_page=100")) == len(SHOTS) + 1 + len(many)
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
    assert problems == []
    context.close()
