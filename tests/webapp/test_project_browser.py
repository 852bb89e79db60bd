"""The project pages in a real headless Chromium, on a phone-sized screen: real gunicorn, a real
`petclf worker`, one real training. Log in, fill the common pool, create a project, put photos into
two classes, train with a live progress bar, read the results, try a photo."""

import time

import pytest

from preprocessing.dataset import sha256_hex
from preprocessing.split import stable_side
from tests.imagegen import encode, shape_image
from tests.projects.helpers import start_worker
from tests.servers import GunicornServer
from tests.webapp.test_browser import CHROMIUM, CHROMIUM_ARGS, open_page

TOKEN = "the-browser-test-token"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
PHOTOS_PER_CLASS = 6
TRAINING_TIMEOUT_S = 900  # generous: a shared 2-core machine; nothing here measures speed


@pytest.fixture
def site(petclf_home, base_model, monkeypatch, tmp_path):
    """gunicorn serving the pages and API on PETCLF_HOME, and a worker taking its jobs."""
    monkeypatch.setenv("PETCLF_ADMIN_TOKEN", TOKEN)
    with (
        GunicornServer(base_model, tmp_path, workers=1, threads=4) as server,
        start_worker(petclf_home),
    ):
        yield server


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def class_photos(folder, label: str) -> list[str]:
    """PNG files of `label`, two of them on the test side (the sha256 rule decides), so the
    trained version has test figures and a confusion matrix."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen, tests = [], 0
    for seed in range(200):
        data = encode(shape_image(label, seed=seed), "PNG")
        is_test = stable_side(sha256_hex(data)) == "test"
        if is_test and tests == 2 or not is_test and len(chosen) - tests == PHOTOS_PER_CLASS - 2:
            continue
        tests += is_test
        path = folder / f"{label}{seed}.png"
        path.write_bytes(data)
        chosen.append(str(path))
        if len(chosen) == PHOTOS_PER_CLASS:
            return chosen
    raise AssertionError(f"no {PHOTOS_PER_CLASS} {label} photos with 2 on the test side")


def column_total(page, label: str) -> int:
    column = page.locator(f'.column[data-class="{label}"]')
    return sum(
        int(column.locator(f'[data-count="{side}"]').inner_text()) for side in ("train", "test")
    )


def upload_into(page, column: str, files: list[str]) -> str:
    """Pick files in a column's file input; the upload starts at once. Returns its summary line."""
    page.set_input_files(f"{column} input[type=file]", files)
    status = page.locator(f"{column} .upload-status")
    status.filter(has_text="stored,").wait_for(timeout=120_000)
    return status.inner_text()


def drop_photos(page, selector: str, photos: dict[str, bytes]) -> None:
    """Drop files on an element, as a person dragging them from their desktop would."""
    page.evaluate(
        """([selector, photos]) => {
            const transfer = new DataTransfer();
            for (const [name, bytes] of photos) transfer.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
            const drop = new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: transfer});
            document.querySelector(selector).dispatchEvent(drop);
        }""",
        [selector, [[name, list(data)] for name, data in photos.items()]],
    )


def follow_training(page) -> list[str]:
    """What the progress box said, each change, until the finished page shows its results."""
    seen = []
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if page.locator("#results #accuracy").count():
                return seen
            state = page.evaluate(
                "() => { const bar = document.getElementById('job-progress');"
                " return `${document.getElementById('job-status').textContent} [${bar.value}/${bar.max}]`; }"
            )
        except Exception:  # the page reloading itself when the job is done
            continue
        if not seen or seen[-1] != state:
            seen.append(state)
        if state.startswith("Training failed") or state.startswith("Training cancelled"):
            raise AssertionError(f"training stopped: {seen}")
        time.sleep(0.25)
    raise AssertionError(f"no results after {TRAINING_TIMEOUT_S} s; the progress box said {seen}")


def test_log_in_create_upload_train_read_results_and_try(browser, site, tmp_path):
    cats = class_photos(tmp_path / "photos", "cat")
    dogs = class_photos(tmp_path / "photos", "dog")
    notes = tmp_path / "photos" / "notes.png"
    notes.write_text("shopping list: milk, eggs")
    context, page, problems = open_page(browser, f"{site.url}/projects", **PHONE)

    # Log in through the form, then create a project with one class.
    page.click("#login-link")
    page.fill("#token", TOKEN)
    page.click("#login-submit")

    # "None of these" photos dropped on the common pool.
    drop_photos(
        page,
        "#common .drop",
        {f"thing{n}.png": encode(shape_image("bird", seed=n), "PNG") for n in range(3)},
    )
    assert (
        page.locator("#common .upload-status")
        .filter(has_text="stored,")
        .inner_text(timeout=120_000)
        .startswith("3 stored")
    )
    pool = page.locator("#common .counts")
    assert (
        sum(int(pool.locator(f'[data-count="{side}"]').inner_text()) for side in ("train", "test"))
        == 3
    )

    page.fill("#project-name", "pets")
    page.fill("#project-classes", "cat")
    page.click("#create")
    page.wait_for_url(f"{site.url}/projects/pets")
    assert "A classifier needs at least 2 classes" in page.locator("#warnings").inner_text()

    # Cats into their column (one copy twice, one text file); dogs through the "new class" column.
    summary = upload_into(page, '.column[data-class="cat"]', [*cats, cats[0], str(notes)])
    assert summary == f"{PHOTOS_PER_CLASS} stored, 1 duplicate, 1 rejected."
    outcomes = page.locator('.column[data-class="cat"] .outcomes')
    assert "notes.png:" in outcomes.locator(".rejected").inner_text()
    assert "stored already" in outcomes.locator(".duplicate").inner_text()
    assert column_total(page, "cat") == PHOTOS_PER_CLASS
    page.fill('#new-class input[name="class"]', "dog")
    upload_into(page, "#new-class", dogs)
    page.locator('.column[data-class="dog"]').wait_for()
    assert column_total(page, "dog") == PHOTOS_PER_CLASS
    assert page.locator("#warnings").is_hidden()  # enough photos, two classes, test photos in each

    # Train: the progress box follows the job until the page shows the new version's results.
    page.click("#train")
    page.locator("#job").wait_for()
    seen = follow_training(page)
    running = {state.split(" [")[0] for state in seen if state.startswith("Training:")}
    assert len(running) >= 2, seen  # the bar moved through phases and steps while it ran

    assert page.locator("#accuracy").inner_text().endswith("%")
    assert float(page.locator("#threshold").inner_text()) > 0
    assert page.locator("#per-class tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.class)"
    ) == ["cat", "dog"]
    matrix = page.locator("#confusion-matrix")
    matrix.scroll_into_view_if_needed()
    page.wait_for_function("() => document.getElementById('confusion-matrix').complete")
    assert matrix.evaluate("img => img.naturalWidth") > 0
    assert page.locator('#version-list tr[data-version="1"] .serving').is_visible()

    # Try it: a dog photo the project never saw.
    unseen = tmp_path / "unseen dog.png"
    unseen.write_bytes(encode(shape_image("dog", seed=500), "PNG"))
    page.set_input_files("#try-file", str(unseen))
    page.locator("#try-bars li.bar").first.wait_for()
    labels = page.locator("#try-bars li.bar").evaluate_all(
        "bars => bars.map(bar => bar.dataset.label)"
    )
    assert sorted(labels) == ["cat", "dog"] and labels[0] == "dog"
    assert all(
        text.endswith("%") for text in page.locator("#try-bars .bar-value").all_inner_texts()
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    assert (tmp_path / "results.png").stat().st_size > 10_000
    assert problems == []  # no CSP violations, no script errors
    context.close()

    # Without JavaScript the results and counts are on the page all the same.
    context, page, _ = open_page(browser, f"{site.url}/projects/pets", java_script_enabled=False)
    assert page.locator("#accuracy").inner_text().endswith("%")
    assert column_total(page, "cat") == column_total(page, "dog") == PHOTOS_PER_CLASS
    context.close()
