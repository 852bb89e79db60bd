"""A real headless Chromium (Debian's, driven by playwright) on the page served by real gunicorn."""

import pytest

from tests.imagegen import encode, shape_image
from tests.servers import GunicornServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    with GunicornServer(
        tiny_model, tmp_path_factory.mktemp("browser-gunicorn"), workers=1, threads=2
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "my cat.jpg"
    path.write_bytes(encode(shape_image("cat", 21, size=(640, 480))))
    return path


def open_page(browser, url, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(url)
    return context, page, problems


def test_upload_shows_top_bars_on_a_phone_screen(browser, server, photo, tmp_path):
    context, page, problems = open_page(
        browser, server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#preview:not([hidden])")  # JS preview of the chosen file
    page.click("#submit")
    page.wait_for_selector("#bars")
    bars = page.locator("#bars li.bar")
    assert bars.count() == 3  # the tiny model's labels, all within the top 5
    labels = bars.evaluate_all("items => items.map(item => item.dataset.label)")
    assert sorted(labels) == ["bird", "cat", "dog"]
    assert all(text.endswith("%") for text in page.locator("#bars .bar-value").all_inner_texts())
    assert page.locator("img.photo").evaluate("img => img.complete && img.naturalWidth") == 240
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "result.png"), full_page=True)
    assert (tmp_path / "result.png").stat().st_size > 1000
    assert problems == []  # no CSP violations, no script errors
    context.close()


def test_dropped_and_pasted_photos_fill_the_form(browser, server, photo):
    context, page, problems = open_page(browser, server.url)
    data = list(photo.read_bytes())
    for event in ("drop", "paste"):
        page.evaluate(
            """([bytes, kind]) => {
                const input = document.getElementById('file');
                input.value = '';
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(bytes)], 'photo.jpg', {type: 'image/jpeg'}));
                const target = kind === 'drop' ? document.getElementById('drop') : document;
                const init = {bubbles: true, cancelable: true};
                const event = kind === 'drop'
                    ? new DragEvent('drop', {...init, dataTransfer: transfer})
                    : new ClipboardEvent('paste', {...init, clipboardData: transfer});
                target.dispatchEvent(event);
            }""",
            [data, event],
        )
        assert page.evaluate("document.getElementById('file').files.length") == 1, event
        assert page.locator("#preview").is_visible(), event
    page.click("#submit")
    page.wait_for_selector("#bars")
    assert problems == []
    context.close()


def test_plain_form_works_without_javascript(browser, server, photo):
    context, page, _ = open_page(browser, server.url, java_script_enabled=False)
    page.set_input_files("#file", str(photo))
    page.click("#submit")
    page.wait_for_selector("#bars")
    assert page.locator("#bars li.bar").count() == 3
    context.close()


def test_bad_file_shows_a_message_in_the_browser(browser, server, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("shopping list: milk, eggs")
    context, page, _ = open_page(browser, server.url)
    page.set_input_files("#file", str(fake))
    page.click("#submit")
    assert "plain text, not a photo" in page.locator("#error").inner_text()
    context.close()
