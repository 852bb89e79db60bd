import pytest
from bs4 import BeautifulSoup

from tests.webapp.conftest import BAD_FILES, cat_jpeg, multipart
from webapp import create_app
from webapp.app import SECURITY_HEADERS


def page(response) -> BeautifulSoup:
    assert response.mimetype == "text/html"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def assert_no_inline_code(soup: BeautifulSoup) -> None:
    for script in soup.find_all("script"):
        assert script.get("src") and not script.string, "inline script"
    for tag in soup.find_all(True):
        assert "style" not in tag.attrs, f"inline style on <{tag.name}>"
        assert not any(attribute.startswith("on") for attribute in tag.attrs), (
            f"inline handler on <{tag.name}>"
        )
    assert not soup.find("style")


def test_upload_page_is_a_plain_form_that_works_without_javascript(client):
    response = client.get("/")
    assert response.status_code == 200
    soup = page(response)
    form = soup.find("form", id="upload")
    assert (
        form["method"] == "post"
        and form["enctype"] == "multipart/form-data"
        and form["action"] == "/"
    )
    picker = form.find("input", attrs={"type": "file"})
    assert picker["name"] == "file" and picker["accept"] == "image/*"
    assert form.find("button", attrs={"type": "submit"})
    assert soup.find("meta", attrs={"name": "viewport"})["content"].startswith("width=device-width")
    assert_no_inline_code(soup)


def test_static_files_are_local_and_served(client):
    soup = page(client.get("/"))
    urls = [tag["src"] for tag in soup.find_all("script")] + [
        tag["href"] for tag in soup.find_all("link", rel="stylesheet")
    ]
    assert urls and all(url.startswith("/static/") for url in urls)  # no CDN
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.data
        response.close()
    script = client.get("/static/app.js")
    text = script.get_data(as_text=True)
    assert all(event in text for event in ("drop", "paste", "createObjectURL"))
    script.close()


def test_result_page_shows_photo_and_top_bars(client):
    response = client.post("/", data=multipart(cat_jpeg()))
    assert response.status_code == 200
    soup = page(response)
    assert soup.find("img", class_="photo")["src"].startswith("data:image/jpeg;base64,")
    bars = soup.select("#bars li.bar")
    # top 5 of the tiny model's 3 labels
    assert [bar["data-label"] for bar in bars] and len(bars) == 3
    values = [float(bar["data-proba"]) for bar in bars]
    assert values == sorted(values, reverse=True)
    for bar in bars:
        shown = bar.find("progress")["value"]
        # one decimal
        assert float(shown) == pytest.approx(float(bar["data-proba"]) * 100, abs=0.051)
        assert bar.find(class_="bar-value").text == f"{shown}%"
    verdict = soup.find(id="verdict").text
    assert bars[0]["data-label"] in verdict
    assert soup.find("form", id="upload")  # ready for the next photo
    assert_no_inline_code(soup)


def test_result_page_says_when_it_is_none_of_the_pets(unknown_model):
    soup = page(create_app(model=unknown_model).test_client().post("/", data=multipart(cat_jpeg())))
    assert soup.find(id="verdict").text == "This doesn't look like any of my pets."
    assert len(soup.select("#bars li.bar")) == 3


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_on_the_page(client, name):
    data, status, _, words = BAD_FILES[name]
    response = client.post("/", data=multipart(data))
    assert response.status_code == status
    soup = page(response)
    assert words in soup.find(id="error").text
    assert soup.find("form", id="upload")  # the user can try again at once


def test_no_file_on_the_page(client):
    response = client.post("/", data={})
    assert response.status_code == 400
    assert "No photo was sent" in page(response).find(id="error").text


def test_too_large_on_the_page(client):
    response = client.post("/", data=multipart(bytes(1024 * 1024 + 10)))
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in page(response).find(id="error").text


def test_wrong_method_and_unknown_page(client):
    response = client.put("/")
    assert response.status_code == 405
    assert "PUT is not allowed" in page(response).find(id="error").text
    assert client.get("/nothing-here").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static/style.css",
        "/healthz",
        "/api/v1/model",
        "/metrics",
        "/nowhere",
        "/api/v1/predict",
    ],
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    response.close()


def test_forwarded_headers_from_one_proxy_are_honoured(client):
    headers = {
        "X-Forwarded-Prefix": "/pets",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "pets.example",
    }
    soup = page(client.get("/", headers=headers))
    assert soup.find("form", id="upload")["action"] == "/pets/"
    assert soup.find("link", rel="stylesheet")["href"].startswith("/pets/static/")
