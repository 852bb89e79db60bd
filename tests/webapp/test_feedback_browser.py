"""Corrections in a real headless Chromium, on real gunicorn with a real `petclf worker`: predict
on the page, say "Wrong? It's a dog", review it as the admin, accept, retrain; the new version
answers and the corrected photo is in the "pets" project."""

import io
import time

import requests

from tests.imagegen import encode, shape_image
from tests.webapp.test_browser import open_page
from tests.webapp.test_project_browser import (  # noqa: F401
    TOKEN,
    TRAINING_TIMEOUT_S,
    browser,
    site,
)

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PER_CLASS = 6


def add_training_photos(url: str) -> None:
    """Photos of each class of the shipped model, so "pets" can be retrained (an admin's upload)."""
    for label in ("bird", "cat", "dog"):
        files = [
            ("file", (f"{label}{seed}.png", io.BytesIO(encode(shape_image(label, seed), "PNG"))))
            for seed in range(300, 300 + PER_CLASS)
        ]
        answer = requests.post(
            f"{url}/api/v1/projects/pets/photos",
            data={"class": label},
            files=files,
            headers=ADMIN,
            timeout=120,
        )
        assert answer.status_code == 200, answer.text


def wait_for_version(url: str, number: int) -> dict:
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while time.monotonic() < deadline:
        project = requests.get(f"{url}/api/v1/projects/pets", timeout=30).json()
        job = project["job"]
        if project["versions"] >= number and job is None:
            return project
        time.sleep(1)
    raise AssertionError(f"no version {number} after {TRAINING_TIMEOUT_S} s: {project}")


def test_predict_correct_review_accept_retrain(browser, site, tmp_path):
    cat = tmp_path / "my cat.png"
    cat.write_bytes(encode(shape_image("cat", seed=77, size=(400, 300)), "PNG"))
    context, page, problems = open_page(browser, site.url)

    # Predict, then "Wrong? It's a dog".
    page.set_input_files("#file", str(cat))
    page.click("#submit")
    page.wait_for_selector("#bars")
    assert "kept only if you send a correction" in page.locator("#correction-note").inner_text()
    correction = page.locator("#correction")
    assert correction.get_by_text("Wrong? It's a …").is_visible()
    correction.get_by_role("button", name="dog", exact=True).click()
    assert "recorded that this photo is a dog" in " ".join(
        page.locator("#recorded").inner_text().split()
    )

    add_training_photos(site.url)

    # Review as the admin: the login form first, then the correction with its photo.
    page.goto(f"{site.url}/projects/pets/review")
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    page.wait_for_url(f"{site.url}/projects/pets/review")
    item = page.locator("li.correction").first
    assert item.locator(".proposed").inner_text() == "a dog"
    page.wait_for_function("() => document.querySelector('li.correction img').complete")
    assert item.locator("img").evaluate("img => img.naturalWidth") == 400
    item.get_by_role("button", name="Accept").click()
    page.locator("#nothing-pending").wait_for()
    assert "1 accepted" in page.locator("#review-counts").inner_text()

    # Retrain now: the worker trains v2 on the accepted photo with the others.
    page.click("#retrain-now")
    # The form posts and lands back on the project's page: wait for it, so that navigation can't
    # interrupt the page.goto below.
    page.wait_for_url(f"{site.url}/projects/pets")
    project = wait_for_version(site.url, 2)
    versions = requests.get(f"{site.url}/api/v1/projects/pets/versions", timeout=30).json()
    [job_id] = [one["job_id"] for one in versions["versions"] if one["number"] == 2]
    job = requests.get(f"{site.url}/api/v1/jobs/{job_id}", timeout=30).json()
    assert job["result"]["gate"]["decided_by"].startswith("accuracy on the project's")
    assert job["result"]["activated"] is True, job["message"]  # as good as v1 on easy shapes
    assert project["active_version"] == 2

    # The new version answers on the project's page, and the photo is in the project. The page
    # follows the job and reloads itself once it is done: navigating here too would race that.
    page.locator('#version-list tr[data-version="2"] .serving').wait_for(timeout=30_000)
    page.set_input_files("#try-file", str(cat))
    page.locator("#try-bars li.bar").first.wait_for()
    assert page.locator("#try-bars li.bar").count() == 3
    page.locator("#try-correction").get_by_role("button", name="bird", exact=True).click()
    page.locator("#try-correction").filter(has_text="Thanks! Recorded: bird.").wait_for()
    pending = requests.get(
        f"{site.url}/api/v1/projects/pets/corrections", headers=ADMIN, timeout=30
    )
    assert [one["label"] for one in pending.json()["corrections"]] == ["bird"]
    photos = requests.get(f"{site.url}/api/v1/projects/pets/photos", timeout=30).json()["photos"]
    corrected = [one for one in photos if one["source"] == "feedback"]
    assert [(one["class"], one["name"]) for one in corrected] == [("dog", "correction-1")]
    assert problems == []
    context.close()
