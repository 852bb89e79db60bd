"""The app under a real gunicorn with deploy/gunicorn.conf.py, over real HTTP."""

import base64
import json
import os
import subprocess
import sys

import pytest
import requests

from classifier import load_engine
from tests.servers import GUNICORN_CONF, REPO, GunicornServer
from tests.webapp.conftest import BAD_FILES, cat_jpeg


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    with GunicornServer(
        tiny_model,
        tmp_path_factory.mktemp("gunicorn"),
        workers=2,
        threads=2,
        env={"PETCLF_MAX_UPLOAD_MB": "1"},
    ) as running:
        yield running


def predict(server, data: bytes) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/predict", files={"file": ("photo.jpg", data)}, timeout=30
    )


def test_serves_page_and_api(server):
    assert "<form" in requests.get(f"{server.url}/", timeout=10).text
    response = predict(server, cat_jpeg())
    assert response.status_code == 200
    assert response.json()["predictions"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_bad_input_never_kills_a_worker(server):
    workers = server.worker_pids()
    for _ in range(2):  # enough requests to reach both workers
        for data, status, code, _ in BAD_FILES.values():
            response = predict(server, data)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        broken = requests.post(f"{server.url}/api/v1/predict", json={"image": "@@@"}, timeout=10)
        assert broken.status_code == 400
        wrong_fields = requests.post(f"{server.url}/api/v1/predict", json={"img": "x"}, timeout=10)
        assert wrong_fields.status_code == 400
        assert requests.get(f"{server.url}/api/v1/predict", timeout=10).status_code == 405
    assert server.worker_pids() == workers
    assert predict(server, cat_jpeg()).status_code == 200
    assert "Traceback" not in server.log()


def test_oversized_upload_gets_413_over_http(server):
    response = requests.post(
        f"{server.url}/api/v1/predict",
        json={"image": base64.b64encode(bytes(2 * 1024 * 1024)).decode()},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert predict(server, cat_jpeg()).status_code == 200


def test_metrics_add_up_over_all_workers(server):
    before = requests.get(f"{server.url}/metrics", timeout=10).text
    for _ in range(6):
        predict(server, cat_jpeg())
    after = requests.get(f"{server.url}/metrics", timeout=10).text
    assert _count(after) - _count(before) == 6


def _count(text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "petclf_http_requests_total"
        and sample.labels["endpoint"] == "api.predict"
        and sample.labels["status"] == "200"
    )


def test_parity_cli_http_engine(server, tiny_model, tmp_path):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(cat_jpeg())
    cli = subprocess.run(
        [sys.executable, "-m", "petclf", "predict", "--model", str(tiny_model), "--json", str(photo)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    from_cli = json.loads(cli.stdout)
    from_cli.pop("file")
    from_http = predict(server, photo.read_bytes()).json()
    assert from_http.pop("id")  # the served prediction's own id, for corrections and heat maps
    from_engine = load_engine(tiny_model).predict_bytes(photo.read_bytes()).to_dict()
    assert from_cli == from_http == from_engine
    assert len(from_engine["predictions"]) == 3


def test_missing_model_stops_gunicorn_naming_the_file(tmp_path):
    missing = tmp_path / "gone.h5"
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", "127.0.0.1:0", "webapp:create_app()"],
        cwd=REPO, env={**os.environ, "PETCLF_MODEL": str(missing)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"the model file {missing} does not exist" in done.stderr
