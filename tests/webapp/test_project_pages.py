"""The project pages through Flask's test client: server-rendered lists, counts, warnings and results,
the login, CSRF, and every form working without JavaScript."""

import io
import json
import re
import shutil

import pytest

import store
from projects import service
from projects.photos import add_photos
from store import ModelVersion
from tests.imagegen import encode, shape_image
from tests.projects.helpers import add_shapes, shape_photos
from tests.webapp.conftest import cat_jpeg
from tests.webapp.test_pages import assert_no_inline_code, page
from webapp import create_app

TOKEN = "the-page-test-token"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PETCLF_HOME", str(home))
    monkeypatch.setenv("PETCLF_ADMIN_TOKEN", TOKEN)
    for name in ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def web(tiny_model, home):
    return create_app(model=tiny_model, max_upload_mb=1).test_client()


@pytest.fixture
def admin(web):
    """The test client, logged in through the form."""
    response = web.post("/login", data={"token": TOKEN, "next": "/projects", "csrf_token": form_csrf(web, "/login")})
    assert response.status_code == 302
    return web


@pytest.fixture
def shapes(home):
    """A project whose dog class is too small to train: 8 cat photos, 3 dog photos."""
    with store.session() as db:
        project = service.create(db, "shapes")
        add_photos(db, project, "cat", shape_photos("cat", 8))
        add_photos(db, project, "dog", shape_photos("dog", 3))
        return service.class_counts(db, project)


@pytest.fixture
def trained(home, tiny_model):
    """A project with two versions published from the tiny model (the files and rows a finished
    training writes), v2 serving."""
    folder = home / "projects" / "trained"
    folder.mkdir(parents=True)
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    with store.session() as db:
        project = service.create(db, "trained")
        add_shapes(db, project, ("cat", "dog"), per_class=6)
        for number in (1, 2):
            for suffix in (".h5", ".json"):
                shutil.copy(tiny_model.with_suffix(suffix), folder / f"v{number}{suffix}")
            db.add(ModelVersion(project_id=project.id, number=number, path=f"projects/trained/v{number}.h5", card=card))
        project.active_version = 2
    return card


def form_csrf(client, url: str) -> str:
    return page(client.get(url)).find("input", attrs={"name": "csrf_token"})["value"]


def notices(soup) -> list[str]:
    return [item.get_text(" ", strip=True) for item in soup.select("#notices li")]


def photo_files(*items) -> list:
    return [(io.BytesIO(data), name) for name, data in items]


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
    csrf = form_csrf(web, "/login")
    response = web.post("/login", data={"token": "not-it", "next": "/projects", "csrf_token": csrf})
    assert response.status_code == 403
    assert page(response).find(id="error").get_text(strip=True) == "That is not the admin token."
    assert page(web.get("/projects")).find("form", id="create-project") is None


def test_login_with_the_token_sets_the_session_and_goes_back(web, shapes):
    soup = page(web.get("/login?next=/projects/shapes"))
    assert soup.find("input", attrs={"name": "next"})["value"] == "/projects/shapes"
    assert soup.find("input", id="token")["type"] == "password"
    response = web.post("/login", data={"token": TOKEN, "next": "/projects/shapes", "csrf_token": form_csrf(web, "/login")})
    assert response.status_code == 302 and response.headers["Location"] == "/projects/shapes"
    soup = page(web.get("/projects/shapes"))
    assert soup.find("form", id="train-form") and soup.find("button", id="logout")
    assert len(soup.select("#columns .photo-form")) == 3  # cat, dog and the new-class column


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "projects"])
def test_login_never_sends_a_person_off_the_site(web, target):
    response = web.post("/login", data={"token": TOKEN, "next": target, "csrf_token": form_csrf(web, "/login")})
    assert response.status_code == 302 and response.headers["Location"] == "/projects"


def test_login_without_its_csrf_token_is_refused(web):
    web.get("/login")
    response = web.post("/login", data={"token": TOKEN, "next": "/projects"})
    assert response.status_code == 400
    assert "expired" in page(response).find(id="error").get_text()
    assert page(web.get("/projects")).find("form", id="create-project") is None


def test_a_write_without_login_leads_to_the_login(web):
    response = web.post("/projects", data={"name": "sneaky"})
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/projects"
    with store.session() as db:
        assert service.listing(db) == []


def test_a_write_without_csrf_is_refused(admin):
    response = admin.post("/projects", data={"name": "forged"})
    assert response.status_code == 400
    assert "expired" in page(response).find(id="error").get_text()
    with store.session() as db:
        assert service.listing(db) == []


def test_creating_a_project_through_the_form(admin):
    response = admin.post("/projects", data={"name": "my cats", "classes": "luna, tiger,", "csrf_token": form_csrf(admin, "/projects")})
    assert response.status_code == 302 and response.headers["Location"] == "/projects/my%20cats"
    soup = page(admin.get(response.headers["Location"]))
    assert soup.find("h1").get_text() == "my cats"
    assert "Project my cats created." in notices(soup)[0]
    assert [column["data-class"] for column in soup.select("#columns .column[data-class]")] == ["luna", "tiger"]
    with store.session() as db:
        assert list(service.class_counts(db, service.get(db, "my cats"))) == ["luna", "tiger"]


@pytest.mark.parametrize(("name", "words"), [("a/b", "can't contain '/'"), ("", "empty"), ("common", "shared pool")])
def test_a_bad_project_name_gets_a_message_and_stores_nothing(admin, name, words):
    response = admin.post("/projects", data={"name": name, "csrf_token": form_csrf(admin, "/projects")})
    assert response.status_code == 422
    soup = page(response)
    assert words in soup.find(id="error").get_text()
    assert soup.find(id="back")["href"] == "/projects"
    with store.session() as db:
        assert service.listing(db) == []


def test_an_unknown_project_is_a_404_page(web):
    response = web.get("/projects/nobody")
    assert response.status_code == 404
    assert page(response).find(id="error").get_text() == "There is no project named nobody."


def test_the_upload_form_works_without_javascript(admin, shapes):
    dog = encode(shape_image("dog", seed=90), "PNG")
    files = photo_files(("dog a.png", dog), ("dog again.png", dog), ("notes.png", b"shopping list: milk, eggs"))
    response = admin.post("/projects/shapes/photos", data={"class": "dog", "file": files, "csrf_token": form_csrf(admin, "/projects/shapes")})
    assert response.status_code == 302 and response.headers["Location"] == "/projects/shapes"
    shown = notices(page(admin.get("/projects/shapes")))
    assert shown[0] == "1 stored, 1 duplicate, 1 rejected."
    assert any(line.startswith("dog again.png: The same photo is stored already as dog a.png") for line in shown)
    assert any(line.startswith("notes.png:") and "not a photo" in line for line in shown)
    with store.session() as db:
        counts = service.class_counts(db, service.get(db, "shapes"))
    assert sum(counts["dog"].values()) == sum(shapes["dog"].values()) + 1


def test_the_new_class_column_needs_a_name(admin, shapes):
    csrf = form_csrf(admin, "/projects/shapes")
    response = admin.post("/projects/shapes/photos", data={"class": " ", "file": photo_files(("x.png", cat_jpeg())), "csrf_token": csrf})
    assert response.status_code == 422
    assert "class name is empty" in page(response).find(id="error").get_text()


def test_the_common_pool_is_filled_from_the_projects_page(admin):
    soup = page(admin.get("/projects"))
    form = soup.select_one("#common form.photo-form")
    assert form["action"] == "/projects/common/photos" and form["data-api"] == "/api/v1/projects/common/photos"
    files = photo_files(*((f"thing{n}.png", encode(shape_image("bird", seed=n), "PNG")) for n in range(3)))
    response = admin.post(form["action"], data={"file": files, "csrf_token": form_csrf(admin, "/projects")})
    assert response.status_code == 302 and response.headers["Location"] == "/projects#common"
    pool = page(admin.get("/projects")).select_one("#common .counts")
    shown = sum(int(pool.select_one(f'[data-count="{side}"]').get_text()) for side in ("train", "test"))
    assert shown == 3


def test_training_with_too_few_photos_names_the_class(admin, shapes):
    response = admin.post("/projects/shapes/train", data={"csrf_token": form_csrf(admin, "/projects/shapes")})
    assert response.status_code == 422
    assert "The class dog has 3 photos" in page(response).find(id="error").get_text()
    with store.session() as db:
        assert service.active_job(db, service.get(db, "shapes")) is None


def test_train_and_cancel_forms_queue_and_cancel_a_job(admin, shapes):
    csrf = form_csrf(admin, "/projects/shapes")
    with store.session() as db:
        add_photos(db, service.get(db, "shapes"), "dog", shape_photos("dog", 4, first_seed=50))
    response = admin.post("/projects/shapes/train", data={"csrf_token": csrf})
    assert response.status_code == 302
    soup = page(admin.get("/projects/shapes"))
    with store.session() as db:
        job = service.active_job(db, service.get(db, "shapes"))
    assert job.state == "queued" and soup.select_one("#training")["data-job"] == job.id
    assert soup.select_one("#job-status").get_text(strip=True) == "Waiting for a worker…"
    assert page(admin.get("/projects")).select_one('[data-project="shapes"] .training').get_text(strip=True) == "Waiting for a worker…"
    response = admin.post("/projects/shapes/cancel", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert "Training cancelled." in notices(page(admin.get("/projects/shapes")))
    with store.session() as db:
        assert service.job(db, job.id).state == "cancelled"


def test_results_versions_and_export_of_the_active_version(admin, trained):
    soup = page(admin.get("/projects/trained"))
    metrics = trained["test_metrics"]
    assert soup.select_one("#accuracy").get_text() == f"{metrics['accuracy'] * 100:.1f}%"
    assert soup.select_one("#threshold").get_text() == f"{trained['unknown']['threshold']:.3f}"
    rows = soup.select("#per-class tbody tr")
    assert [row["data-class"] for row in rows] == trained["labels"]
    for row in rows:
        figures = metrics["per_class"][row["data-class"]]
        cells = [cell.get_text() for cell in row.find_all("td")]
        assert cells == [f"{figures['precision']:.2f}", f"{figures['recall']:.2f}", f"{figures['f1']:.2f}", str(figures["support"])]
    assert soup.select_one("#confusion-matrix")["src"] == "/api/v1/projects/trained/versions/2/confusion_matrix.png"
    versions = soup.select("#version-list tbody tr")
    assert [row["data-version"] for row in versions] == ["2", "1"]
    assert versions[0].select_one(".serving") and not versions[0].select(".activate-form")
    assert versions[1].select_one(".activate-form")["action"] == "/projects/trained/versions/1/activate"
    assert versions[1].select_one("a.export")["href"] == "/api/v1/projects/trained/export?version=1"


def test_the_activate_form_switches_the_serving_version(admin, trained):
    response = admin.post("/projects/trained/versions/1/activate", data={"csrf_token": form_csrf(admin, "/projects/trained")})
    assert response.status_code == 302
    soup = page(admin.get("/projects/trained"))
    assert "Version 1 is now serving." in notices(soup)
    assert soup.select_one('#version-list tr[data-version="1"] .serving')
    with store.session() as db:
        assert service.get(db, "trained").active_version == 1


def test_try_it_without_javascript_shows_the_top_bars(web, trained):
    response = web.post("/projects/trained/try", data={"file": (io.BytesIO(cat_jpeg()), "cat.jpg")})
    assert response.status_code == 200
    bars = page(response).select("#try-bars li.bar")
    assert sorted(bar["data-label"] for bar in bars) == sorted(trained["labels"])
    values = [float(bar["data-proba"]) for bar in bars]
    assert values == sorted(values, reverse=True)


def test_try_it_with_a_non_image_says_why(web, trained):
    response = web.post("/projects/trained/try", data={"file": (io.BytesIO(b"plain words"), "words.jpg")})
    assert response.status_code == 415
    assert "not a photo" in page(response).find(id="try-error").get_text()


def test_try_it_before_training_is_a_409_page(web, shapes):
    response = web.post("/projects/shapes/try", data={"file": (io.BytesIO(cat_jpeg()), "cat.jpg")})
    assert response.status_code == 409
    assert "no trained model yet" in page(response).find(id="error").get_text()


def test_logout_clears_the_session(admin):
    response = admin.post("/logout", data={"csrf_token": form_csrf(admin, "/projects")})
    assert response.status_code == 302
    soup = page(admin.get("/projects"))
    assert soup.find("form", id="create-project") is None and soup.find(id="login-link")


def test_no_inline_script_or_style_on_any_project_page(admin, trained, shapes):
    urls = ["/projects", "/projects/shapes", "/projects/trained", "/login", "/projects/nobody"]
    for client in (admin, admin.application.test_client()):  # logged in, and not
        for url in urls:
            soup = page(client.get(url))
            assert_no_inline_code(soup)
            assert "/static/projects.js" in [script["src"] for script in soup.find_all("script")], url
    assert re.search(r"\.js \.without-js\s*{\s*display: none", admin.get("/static/style.css").get_data(as_text=True))
