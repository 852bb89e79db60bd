"""Why did it say that? A served prediction's heat map through the API and the "Why?" page, made by
a real heat-map service on a real socket: the overlay, another class's, and each refusal with its
status (404 unknown id, 410 version gone, 422 unknown class, 503 service down)."""

import io
import os
import re
import subprocess
import sys

import pytest
from PIL import Image

from classifier.heatmap_client import ping
from preprocessing import IMAGE_SIZE
from tests.projects.helpers import wait_until
from tests.servers import free_port
from tests.stored_state import fresh_home
from tests.webapp.project_support import TOKEN, add_version, b64, photo
from webapp import create_app

STARTUP_SECONDS = 90


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_model):
    """(the address, the folder whose home/ the service and the web app share) of a heat-map
    service serving the tiny model and the projects' versions."""
    root = tmp_path_factory.mktemp("heatmap_web")
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "PETCLF_HOME": str(root / "home"),
        "PETCLF_MODEL": str(tiny_model),
        "PETCLF_HEATMAP_ADDR": address,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.heatmap_service"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        os.environ["PETCLF_HEATMAP_ADDR"] = address
        wait_until(ping, STARTUP_SECONDS, "the heat-map service answering")
        yield address, root
    finally:
        del os.environ["PETCLF_HEATMAP_ADDR"]
        process.terminate()
        process.wait()


@pytest.fixture
def web(service, monkeypatch, tiny_model):
    address, root = service
    monkeypatch.setenv("PETCLF_HEATMAP_ADDR", address)
    fresh_home(root, monkeypatch, token=TOKEN)
    return create_app(model=tiny_model).test_client()


def predicted(web, label: str = "cat", seed: int = 3) -> str:
    return web.post("/api/v1/predict", json={"image": b64(photo(label, seed))}).json["id"]


def test_the_heat_map_of_a_served_prediction(web):
    prediction_id = predicted(web)
    answer = web.get(f"/api/v1/predictions/{prediction_id}/heatmap.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    overlay = Image.open(io.BytesIO(answer.data))
    assert overlay.size == (IMAGE_SIZE, IMAGE_SIZE)
    other = web.get(f"/api/v1/predictions/{prediction_id}/heatmap.png?label=dog")
    assert other.status_code == 200 and other.data != answer.data


def test_refusals_say_why(web, service, tiny_model):
    home = service[1] / "home"
    unknown = web.get("/api/v1/predictions/no-such-id/heatmap.png")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"

    prediction_id = predicted(web)
    off_model = web.get(f"/api/v1/predictions/{prediction_id}/heatmap.png?label=hamster")
    assert off_model.status_code == 422 and off_model.json["error"]["code"] == "invalid"
    assert "bird, cat, dog" in off_model.json["error"]["message"]

    add_version(home, "heat", tiny_model, 1)
    answer = web.post("/api/v1/projects/heat/predict", json={"image": b64(photo("dog"))})
    of_version = answer.json["id"]
    assert web.get(f"/api/v1/predictions/{of_version}/heatmap.png").status_code == 200
    (home / "projects" / "heat" / "v1.h5").unlink()
    gone = web.get(f"/api/v1/predictions/{of_version}/heatmap.png")
    assert gone.status_code == 410 and "version 1" in gone.json["error"]["message"]


def test_the_service_down_is_a_503_with_the_reason(web, monkeypatch):
    prediction_id = predicted(web)
    monkeypatch.setenv("PETCLF_HEATMAP_ADDR", f"127.0.0.1:{free_port()}")
    answer = web.get(f"/api/v1/predictions/{prediction_id}/heatmap.png")
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "heatmap_unavailable"
    assert "petclf worker" in answer.json["error"]["message"]
    page = web.get(f"/predictions/{prediction_id}/why")
    assert page.status_code == 503 and b"petclf worker" in page.data


def test_the_result_page_links_why_to_the_overlay(web):
    result = web.post("/", data={"file": (io.BytesIO(photo("dog", 4)), "dog.png")})
    link = re.search(rb'id="why" href="(/predictions/[\w-]+/why)"', result.data)
    assert link, "no Why? link under the result"
    why = web.get(link.group(1).decode())
    assert why.status_code == 200
    shown = re.search(rb'id="heatmap" src="data:image/png;base64,', why.data)
    assert shown and b"Where it saw a" in why.data
