"""The project pages through Flask's test client: server-rendered lists, counts, warnings and results,
the login, CSRF, and every form working without JavaScript."""

import io
import json
import re

import pytest

import store
from projects import service
from projects.photos import add_photos
from tests.projects.helpers import add_shapes, shape_photos
from tests.webapp.conftest import cat_jpeg
from tests.webapp.project_support import TOKEN, add_version, home, photo, web  # noqa: F401
from tests.webapp.test_pages import assert_no_inline_code, page

TRAINED = "tried-on-pages"  # engines are cached by version path: a name no other test's model uses


def submit(client, action: str, shown_on: str, fields: dict | None = None):
    """Post a form as a browser would: with the CSRF token of the page that shows it."""
    csrf = page(client.get(shown_on)).find("input", attrs={"name": "csrf_token"})["value"]
    return client.post(action, data={**(fields or {}), "csrf_token": csrf})


def log_in(client, token: str = TOKEN, next_page: str = "/projects"):
    return submit(client, "/login", "/login", {"token": token, "next": next_page})


def notices(soup) -> list[str]:
    return [item.get_text(" ", strip=True) for item in soup.select("#notices li")]


def error_text(response) -> str:
    return page(response).find(id="error").get_text()


def files(*named: tuple[str, bytes]) -> list:
    return [(io.BytesIO(data), name) for name, data in named]


def projects_in_store() -> list[str]:
    with store.session() as db:
        return [project.name for project in service.listing(db)]


@pytest.fixture
def admin(web):
    """The test client, logged in through the form."""
    assert log_in(web).status_code == 302
    return web


@pytest.fixture
def shapes(home):
    """A project whose dog class is too small to train: 8 cat photos, 3 dog photos. Returns its counts."""
    with store.session() as db:
        project = service.create(db, "shapes")
        add_photos(db, project, "cat", shape_photos("cat", 8))
        add_photos(db, project, "dog", shape_photos("dog", 3))
        return service.class_counts(db, project)


@pytest.fixture
def trained(home, tiny_model):
    """A project with two versions published from the tiny model (the files and rows a finished
    training leaves), v2 serving. Returns the card."""
    with store.session() as db:
        add_shapes(db, service.create(db, TRAINED), ("cat", "dog"), per_class=6)
    for number in (1, 2):
        add_version(home, TRAINED, tiny_model, number)
    return json.loads(tiny_model.with_suffix(".json").read_text())


def test_projects_list_renders_for_anyone_without_write_controls(web, shapes):
    response = web.get("/projects")
    assert response.status_code == 200
    soup = page(response)
    card = soup.select_one('#projects li[data-project="shapes"]')
    assert card.select_one("a")["href"] == "/projects/shapes"
    assert card.select_one(".classes").get_text(strip=True) == "cat, dog"
    assert card.select_one(".photos").get_text(strip=True) == "11"
    assert card.select_one(".model").get_text(strip=True) == "not trained yet"
    assert card.select_one(".training").get_text(strip=True) == "Not training."
    assert soup.find("form", id="create-project") is None and not soup.select(".photo-form")
    assert soup.find("a", id="login-link")["href"] == "/login?next=/projects"
    assert soup.select_one("#common")["data-api"] == "/api/v1/projects/common"


def test_project_page_shows_counts_per_class_and_warnings(web, shapes):
    soup = page(web.get("/projects/shapes"))
    for label, sides in shapes.items():
        column = soup.select_one(f'#columns .column[data-class="{label}"]')
        assert column.select_one(".column-name").get_text(strip=True) == label
        assert int(column.select_one('[data-count="train"]').get_text()) == sides["train"]
        assert int(column.select_one('[data-count="test"]').get_text()) == sides["test"]
    warnings = [item.get_text(strip=True) for item in soup.select("#warnings li")]
    assert "The class dog has 3 photos; it needs at least 5." in warnings
    assert soup.select_one("#no-results")  # not trained yet
    assert soup.select_one("#project")["data-api"] == "/api/v1/projects/shapes"
    # Readable by anyone; the write controls lead to the login.
    assert soup.find("form", id="train-form") is None and not soup.select(".photo-form")
    assert soup.select_one('#training a[href^="/login?next=/projects/shapes"]')


def test_login_with_a_wrong_token_fails_with_a_message(web):
    response = log_in(web, token="not-it")
    assert response.status_code == 403
    assert error_text(response) == "That is not the admin token."
    assert page(web.get("/projects")).find("form", id="create-project") is None


def test_login_with_the_token_sets_the_session_and_goes_back(web, shapes):
    soup = page(web.get("/login?next=/projects/shapes"))
    assert soup.find("input", attrs={"name": "next"})["value"] == "/projects/shapes"
    assert soup.find("input", id="token")["type"] == "password"
    response = log_in(web, next_page="/projects/shapes")
    assert response.status_code == 302 and response.headers["Location"] == "/projects/shapes"
    soup = page(web.get("/projects/shapes"))
    assert soup.find("form", id="train-form") and soup.find("button", id="logout")
    assert len(soup.select("#columns .photo-form")) == 3  # cat, dog and the new-class column


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "x"],
)
def test_login_never_sends_a_person_off_the_site(web, target):
    response = log_in(web, next_page=target)
    assert response.status_code == 302 and response.headers["Location"] == "/projects"


def test_login_without_its_csrf_token_is_refused(web):
    web.get("/login")
    response = web.post("/login", data={"token": TOKEN, "next": "/projects"})
    assert response.status_code == 400 and "expired" in error_text(response)
    assert page(web.get("/projects")).find("form", id="create-project") is None


def test_a_write_without_login_leads_to_the_login(web):
    response = web.post("/projects", data={"name": "sneaky"})
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/projects"
    assert projects_in_store() == []


def test_a_write_without_csrf_is_refused(admin):
    response = admin.post("/projects", data={"name": "forged"})
    assert response.status_code == 400 and "expired" in error_text(response)
    assert projects_in_store() == []


def test_creating_a_project_through_the_form(admin):
    response = submit(
        admin, "/projects", "/projects", {"name": "my cats", "classes": "luna, tiger,"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/projects/my%20cats"
    soup = page(admin.get(response.headers["Location"]))
    assert soup.find("h1").get_text() == "my cats"
    assert "Project my cats created." in notices(soup)[0]
    assert [column["data-class"] for column in soup.select("#columns .column[data-class]")] == [
        "luna",
        "tiger",
    ]
    with store.session() as db:
        assert list(service.class_counts(db, service.get(db, "my cats"))) == ["luna", "tiger"]


@pytest.mark.parametrize(
    ("name", "words"), [("a/b", "can't contain '/'"), ("", "empty"), ("common", "shared pool")]
)
def test_a_bad_project_name_gets_a_message_and_stores_nothing(admin, name, words):
    response = submit(admin, "/projects", "/projects", {"name": name})
    assert response.status_code == 422 and words in error_text(response)
    assert page(response).find(id="back")["href"] == "/projects"
    assert projects_in_store() == []


def test_an_unknown_project_is_a_404_page(web):
    response = web.get("/projects/nobody")
    assert (
        response.status_code == 404 and error_text(response) == "There is no project named nobody."
    )


def test_the_upload_form_works_without_javascript(admin, shapes):
    dog = photo("dog", seed=90)
    sent = files(
        ("dog a.png", dog), ("dog again.png", dog), ("notes.png", b"shopping list: milk, eggs")
    )
    response = submit(
        admin, "/projects/shapes/photos", "/projects/shapes", {"class": "dog", "file": sent}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/projects/shapes"
    shown = notices(page(admin.get("/projects/shapes")))
    assert shown[0] == "1 stored, 1 duplicate, 1 rejected."
    assert any(
        line.startswith("dog again.png: The same photo is stored already as dog a.png")
        for line in shown
    )
    assert any(line.startswith("notes.png:") and "not a photo" in line for line in shown)
    with store.session() as db:
        counts = service.class_counts(db, service.get(db, "shapes"))
    assert sum(counts["dog"].values()) == sum(shapes["dog"].values()) + 1


def test_the_new_class_column_needs_a_name(admin, shapes):
    sent = files(("x.jpg", cat_jpeg()))
    response = submit(
        admin, "/projects/shapes/photos", "/projects/shapes", {"class": " ", "file": sent}
    )
    assert response.status_code == 422 and "class name is empty" in error_text(response)


def test_a_new_class_whose_photos_are_all_refused_is_not_made(admin, shapes):
    sent = files(
        ("notes.png", b"shopping list: milk, eggs"), ("page.jpg", b"<!doctype html><html></html>")
    )
    response = submit(
        admin, "/projects/shapes/photos", "/projects/shapes", {"class": "fish", "file": sent}
    )
    assert response.status_code == 415 and "not a photo" in error_text(response)
    with store.session() as db:
        assert service.class_counts(db, service.get(db, "shapes")) == shapes


def test_an_upload_over_the_limit_is_a_413_page_and_stores_nothing(admin, shapes):
    # 1 MB limit
    sent = files(*((f"big{n}.png", photo("dog", seed=n) + bytes(400_000)) for n in range(3)))
    response = submit(
        admin, "/projects/shapes/photos", "/projects/shapes", {"class": "dog", "file": sent}
    )
    assert response.status_code == 413 and "larger than the 1 MB limit" in error_text(response)
    with store.session() as db:
        assert service.class_counts(db, service.get(db, "shapes")) == shapes


def test_the_common_pool_is_filled_from_the_projects_page(admin):
    form = page(admin.get("/projects")).select_one("#common form.photo-form")
    assert (
        form["action"] == "/projects/common/photos"
        and form["data-api"] == "/api/v1/projects/common/photos"
    )
    sent = files(*((f"thing{n}.png", photo("bird", seed=n)) for n in range(3)))
    response = submit(admin, form["action"], "/projects", {"file": sent})
    assert response.status_code == 302 and response.headers["Location"] == "/projects#common"
    pool = page(admin.get("/projects")).select_one("#common .counts")
    assert (
        sum(int(pool.select_one(f'[data-count="{side}"]').get_text()) for side in ("train", "test"))
        == 3
    )


def test_training_with_too_few_photos_names_the_class(admin, shapes):
    response = submit(admin, "/projects/shapes/train", "/projects/shapes")
    assert response.status_code == 422 and "The class dog has 3 photos" in error_text(response)
    with store.session() as db:
        assert service.active_job(db, service.get(db, "shapes")) is None


def test_train_and_cancel_forms_queue_and_cancel_a_job(admin, shapes):
    with store.session() as db:
        add_photos(db, service.get(db, "shapes"), "dog", shape_photos("dog", 4, first_seed=50))
    assert submit(admin, "/projects/shapes/train", "/projects/shapes").status_code == 302
    soup = page(admin.get("/projects/shapes"))
    with store.session() as db:
        job = service.active_job(db, service.get(db, "shapes"))
    assert job.state == "queued" and soup.select_one("#training")["data-job"] == job.id
    assert soup.select_one("#job-status").get_text(strip=True) == "Waiting for a worker…"
    listed = page(admin.get("/projects")).select_one('[data-project="shapes"] .training')
    assert listed.get_text(strip=True) == "Waiting for a worker…"
    assert submit(admin, "/projects/shapes/cancel", "/projects/shapes").status_code == 302
    assert "Training cancelled." in notices(page(admin.get("/projects/shapes")))
    with store.session() as db:
        assert service.job(db, job.id).state == "cancelled"


def test_results_versions_and_export_of_the_active_version(admin, trained):
    soup = page(admin.get(f"/projects/{TRAINED}"))
    metrics = trained["test_metrics"]
    assert soup.select_one("#accuracy").get_text() == f"{metrics['accuracy'] * 100:.1f}%"
    assert soup.select_one("#threshold").get_text() == f"{trained['unknown']['threshold']:.3f}"
    rows = soup.select("#per-class tbody tr")
    assert [row["data-class"] for row in rows] == trained["labels"]
    for row in rows:
        figures = metrics["per_class"][row["data-class"]]
        expected = [f"{figures[name]:.2f}" for name in ("precision", "recall", "f1")] + [
            str(figures["support"])
        ]
        assert [cell.get_text() for cell in row.find_all("td")] == expected
    assert (
        soup.select_one("#confusion-matrix")["src"]
        == f"/api/v1/projects/{TRAINED}/versions/2/confusion_matrix.png"
    )
    versions = soup.select("#version-list tbody tr")
    assert [row["data-version"] for row in versions] == ["2", "1"]
    assert versions[0].select_one(".serving") and not versions[0].select(".activate-form")
    assert (
        versions[1].select_one(".activate-form")["action"]
        == f"/projects/{TRAINED}/versions/1/activate"
    )
    assert (
        versions[1].select_one("a.export")["href"] == f"/api/v1/projects/{TRAINED}/export?version=1"
    )


def test_the_activate_form_switches_the_serving_version(admin, trained):
    assert (
        submit(
            admin, f"/projects/{TRAINED}/versions/1/activate", f"/projects/{TRAINED}"
        ).status_code
        == 302
    )
    soup = page(admin.get(f"/projects/{TRAINED}"))
    assert "Version 1 is now serving." in notices(soup)
    assert soup.select_one('#version-list tr[data-version="1"] .serving')
    with store.session() as db:
        assert service.get(db, TRAINED).active_version == 1


def test_try_it_without_javascript_shows_the_top_bars(web, trained):
    response = web.post(f"/projects/{TRAINED}/try", data={"file": files(("cat.jpg", cat_jpeg()))})
    assert response.status_code == 200
    bars = page(response).select("#try-bars li.bar")
    assert sorted(bar["data-label"] for bar in bars) == sorted(trained["labels"])
    values = [float(bar["data-proba"]) for bar in bars]
    assert values == sorted(values, reverse=True)


def test_try_it_with_a_non_image_says_why(web, trained):
    response = web.post(
        f"/projects/{TRAINED}/try", data={"file": files(("words.jpg", b"plain words"))}
    )
    assert response.status_code == 415
    assert "not a photo" in page(response).find(id="try-error").get_text()


def test_try_it_before_training_is_a_409_page(web, shapes):
    response = web.post("/projects/shapes/try", data={"file": files(("cat.jpg", cat_jpeg()))})
    assert response.status_code == 409 and "no trained model yet" in error_text(response)


def test_logout_clears_the_session(admin):
    assert submit(admin, "/logout", "/projects").status_code == 302
    soup = page(admin.get("/projects"))
    assert soup.find("form", id="create-project") is None and soup.find(id="login-link")


def test_no_inline_script_or_style_on_any_project_page(admin, trained, shapes):
    urls = ["/projects", "/projects/shapes", f"/projects/{TRAINED}", "/login", "/projects/nobody"]
    for client in (admin, admin.application.test_client()):  # logged in, and not
        for url in urls:
            soup = page(client.get(url))
            assert_no_inline_code(soup)
            assert "/static/projects.js" in [script["src"] for script in soup.find_all("script")], (
                url
            )
    assert re.search(
        r"\.js \.without-js\s*{\s*display: none",
        admin.get("/static/style.css").get_data(as_text=True),
    )
