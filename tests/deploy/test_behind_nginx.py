"""Integration: real nginx (unprivileged, temporary prefix) in front of real gunicorn serving
the tiny model, on 127.0.0.1 ports; model updates with deploy/update-model.sh under load."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import pytest
import requests

from classifier.card import sha256_file
from tests.bot.helpers import jpeg
from tests.deploy.nginx import DEPLOY, REPO, SITE_TEMPLATE, NginxPrefix, render_template
from tests.projects.helpers import wait_until
from tests.servers import GunicornServer, free_port

MAX_UPLOAD_MB = 1
STATIC = REPO / "webapp" / "static"


def update_model(
    live_model: Path, new_h5: Path, *args: str, **env: str
) -> subprocess.CompletedProcess:
    """deploy/update-model.sh as an operator runs it, with this interpreter's environment."""
    environment = {
        **os.environ,
        "PETCLF_MODEL": str(live_model),
        "PETCLF_PYTHON": sys.executable,
        "PETCLF_ENV_FILE": "/nonexistent",  # never the host's settings
        **env,
    }
    command = [str(DEPLOY / "update-model.sh"), *args, str(new_h5)]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)


def retrained_copy(model: Path, folder: Path, name: str) -> Path:
    """The same network as a different file (a new attribute in the .h5), with a card made for
    it: to the services it's a new model, and it serves the same answers."""
    folder.mkdir(parents=True, exist_ok=True)
    h5 = folder / f"{name}.h5"
    shutil.copy(model, h5)
    with h5py.File(h5, "r+") as handle:
        handle.attrs["petclf_test_release"] = name
    card = json.loads(model.with_suffix(".json").read_text())
    card.update(name=name, h5_sha256=sha256_file(h5), h5_bytes=h5.stat().st_size)
    h5.with_suffix(".json").write_text(json.dumps(card))
    return h5


@pytest.fixture(scope="module")
def live_model(tmp_path_factory, tiny_model) -> Path:
    """A models folder as install.sh makes it, the tiny model put live by update-model.sh."""
    models = tmp_path_factory.mktemp("var_lib_petclf") / "models"
    models.mkdir()
    live = models / "current" / "pets.h5"
    done = update_model(live, tiny_model, "--no-reload")
    assert done.returncode == 0, done.stderr
    return live


@pytest.fixture(scope="module")
def web(live_model, tmp_path_factory):
    env = {"PETCLF_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB)}
    with GunicornServer(live_model, tmp_path_factory.mktemp("gunicorn"), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def nginx(web):
    port = free_port()
    site = render_template(
        SITE_TEMPLATE,
        LISTEN=f"127.0.0.1:{port}",
        SERVER_NAME="_",
        UPSTREAM=f"127.0.0.1:{web.port}",
        MAX_UPLOAD_KB=MAX_UPLOAD_MB * 1024,
        LOG_DIR="{prefix}/logs",
        STATIC_DIR="{prefix}/static",
    )
    front = NginxPrefix(site, static_source=STATIC)
    try:
        front.start(port)
        front.url = f"http://127.0.0.1:{port}"
        yield front
    finally:
        front.close()


class AccessLog:
    """The site's access log from now on. nginx logs a request after answering it, so the line
    may come a moment after the response."""

    def __init__(self, front: NginxPrefix):
        self.front = front
        self.offset = len(front.log("petclf.access.log"))

    def line_for(self, request_line: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            new = self.front.log("petclf.access.log")[self.offset :]
            lines = [line for line in new.splitlines() if f'"{request_line} HTTP/1.1"' in line]
            if lines:
                return lines[-1]
            assert time.monotonic() < deadline, f"no access-log line for {request_line}"
            time.sleep(0.05)


def predict(url: str, data: bytes, timeout: float = 60) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/predict", files={"file": ("pet.jpg", data, "image/jpeg")}, timeout=timeout
    )


def test_an_upload_through_nginx_gets_a_prediction(nginx, web, live_model):
    log = AccessLog(nginx)
    response = predict(nginx.url, jpeg("cat"))

    assert response.status_code == 200, response.text
    body = response.json()
    labels = json.loads(live_model.with_suffix(".json").read_text())["labels"]
    assert [p["label"] for p in body["predictions"]] and all(
        p["label"] in labels for p in body["predictions"]
    )
    assert body["label"] in [*labels, "unknown"]
    assert f"upstream=127.0.0.1:{web.port}" in log.line_for("POST /api/v1/predict")


def test_an_upload_over_the_limit_gets_nginx_413(nginx):
    too_big = os.urandom(MAX_UPLOAD_MB * 1024 * 1024 + 100_000)
    log = AccessLog(nginx)

    response = predict(nginx.url, too_big)

    assert response.status_code == 413
    # nginx's page, not the app's JSON error
    assert response.headers["Content-Type"].startswith("text/html")
    assert "413" in response.text
    assert "upstream=-" in log.line_for("POST /api/v1/predict")  # gunicorn never saw it


def test_static_files_come_from_nginx(nginx):
    files = sorted(path for path in STATIC.rglob("*") if path.is_file())
    assert files, "webapp/static has no files"
    for path in files:
        url_path = "/static/" + path.relative_to(STATIC).as_posix()
        log = AccessLog(nginx)

        response = requests.get(nginx.url + url_path, timeout=10)

        assert response.status_code == 200, url_path
        assert response.content == path.read_bytes()
        assert "max-age=604800" in response.headers["Cache-Control"]  # the site's `expires 7d`
        assert "upstream=-" in log.line_for(f"GET {url_path}"), "gunicorn answered a static file"


def test_text_is_gzipped_static_and_proxied(nginx, live_model):
    stylesheet = STATIC / "style.css"
    assert stylesheet.stat().st_size > 1024  # above the site's gzip_min_length
    response = requests.get(
        nginx.url + "/static/style.css", headers={"Accept-Encoding": "gzip"}, timeout=10
    )
    assert response.headers.get("Content-Encoding") == "gzip"
    assert response.content == stylesheet.read_bytes()  # requests inflates it

    response = requests.get(
        nginx.url + "/api/v1/model", headers={"Accept-Encoding": "gzip"}, timeout=10
    )
    assert response.headers.get("Content-Encoding") == "gzip"
    assert response.json()["h5_sha256"] == sha256_file(live_model)


class RequestStream:
    """Clients posting images through nginx without pause until stopped; every outcome kept."""

    def __init__(self, url: str, clients: int = 2):
        self.url = url
        self.outcomes: list[tuple[float, float, object]] = []  # (start, end, status or exception)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)
        ]

    def _run(self, n: int) -> None:
        image = jpeg(("cat", "dog", "bird")[n % 3], seed=n)
        with requests.Session() as session:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    response = session.post(
                        f"{self.url}/api/v1/predict", files={"file": ("p.jpg", image)}, timeout=90
                    )
                    ok = response.status_code == 200 and bool(response.json().get("predictions"))
                    outcome = (
                        response.status_code
                        if ok
                        else f"{response.status_code} {response.text[:200]}"
                    )
                except Exception as exc:  # a dropped request is exactly what we look for
                    outcome = exc
                self.outcomes.append((start, time.monotonic(), outcome))
                time.sleep(0.05)  # steady traffic without hogging the CPU the reload needs

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(120)


def served_card(url: str) -> dict:
    response = requests.get(f"{url}/api/v1/model", timeout=30)
    assert response.status_code == 200
    return response.json()


def test_a_broken_model_is_refused_and_the_old_one_keeps_serving(nginx, live_model, tmp_path):
    before_link = os.readlink(live_model.parent)
    releases = live_model.parent.parent / "releases"
    before_releases = sorted(releases.iterdir())
    before_card = served_card(nginx.url)
    broken = retrained_copy(live_model, tmp_path, "broken")
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # a truncated upload
    card = json.loads(broken.with_suffix(".json").read_text())
    card.update(h5_sha256=sha256_file(broken), h5_bytes=broken.stat().st_size)
    broken.with_suffix(".json").write_text(json.dumps(card))  # so it's the .h5 itself that fails
    mismatched = retrained_copy(live_model, tmp_path / "mismatch", "mismatched")
    # another model's card
    shutil.copy(live_model.with_suffix(".json"), mismatched.with_suffix(".json"))

    for bad in (broken, mismatched):
        done = update_model(
            live_model, bad, PETCLF_RELOAD_WEB="false", PETCLF_RESTART_TCP="", PETCLF_WEB_URL=""
        )

        assert done.returncode == 1
        assert f"refused {bad}" in done.stderr
        assert str(bad) in done.stderr.splitlines()[-2]  # the reason names the operator's file
        assert os.readlink(live_model.parent) == before_link
        assert predict(nginx.url, jpeg("dog")).status_code == 200
        assert served_card(nginx.url) == before_card
    assert sorted(releases.iterdir()) == before_releases  # the refused copies were cleaned up


def test_a_model_update_under_load_drops_no_request(nginx, web, live_model, tmp_path):
    new_model = retrained_copy(live_model, tmp_path, "pets-v2")
    old_card = served_card(nginx.url)
    old_workers = web.worker_pids()

    with RequestStream(nginx.url) as stream:
        time.sleep(1.0)
        update_started = time.monotonic()
        done = update_model(
            live_model,
            new_model,
            PETCLF_RELOAD_WEB=f"kill -HUP {web.process.pid}",
            PETCLF_RESTART_TCP="",
            PETCLF_WEB_URL=web.url,
            PETCLF_KEEP_RELEASES="1",
        )
        update_ended = time.monotonic()
        time.sleep(1.0)

    assert done.returncode == 0, done.stderr
    assert "the web app serves the new model" in done.stdout
    failures = [outcome for _, _, outcome in stream.outcomes if outcome != 200]
    assert not failures, failures
    during = [
        o for start, end, o in stream.outcomes if end >= update_started and start <= update_ended
    ]
    assert len(during) >= 5, f"only {len(during)} requests overlapped the update"
    card = served_card(nginx.url)
    assert card["name"] == "pets-v2" and card["h5_sha256"] != old_card["h5_sha256"]
    assert web.process.poll() is None  # the same master: reloaded, not restarted
    # Every worker is a fresh one on the new model; the old ones finish their last requests first.
    wait_until(lambda: not web.worker_pids() & old_workers, 60, "the old workers gone")
    releases = live_model.parent.parent / "releases"
    assert [path.name for path in releases.iterdir()] == [
        os.readlink(live_model.parent).split("/")[-1]
    ]


def test_a_model_update_carries_the_int8_runtime_built_beside_it(tmp_path, tiny_model):
    """The int8 runtime can't be rebuilt on the server (no training photos), so it travels."""
    from classifier import load_engine
    from classifier.artifact import open_artifact
    from classifier.export import Int8Photos
    from classifier.runtime import build_runtime
    from tests.classifier.test_int8 import model_inputs

    new_h5 = retrained_copy(tiny_model, tmp_path / "new", "pets")
    size = open_artifact(new_h5).input_size
    photos = Int8Photos(model_inputs(size, range(500, 508)), model_inputs(size, range(600, 620)))
    assert build_runtime(open_artifact(new_h5), photos)["precision"] == "int8"

    (tmp_path / "models").mkdir()  # as install.sh makes it
    live = tmp_path / "models" / "current" / "pets.h5"
    done = update_model(live, new_h5, "--no-reload")
    assert done.returncode == 0, done.stderr
    assert live.with_suffix(".tflite").read_bytes() == new_h5.with_suffix(".tflite").read_bytes()
    assert load_engine(live, threads=1).precision == "int8"
