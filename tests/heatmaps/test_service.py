"""The heat-map service of a real `petclf worker`, through a real socket, with the client the web
app and the bot use: overlays, refusals with their status, a crash survived, and no TensorFlow
in the client's process."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest
from PIL import Image

from classifier.heatmap_client import (
    HeatmapRefused,
    HeatmapUnavailable,
    heatmap,
    heatmap_png,
    ping,
)
from jobs.heatmap_service import CANNOT_LISTEN
from preprocessing import IMAGE_SIZE
from tests.imagegen import encode, shape_image
from tests.projects.helpers import start_worker, wait_until
from tests.servers import free_port

STARTUP_SECONDS = 90  # TensorFlow, the model and its traced gradient, on a busy machine


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_model):
    """(address, the served model's path, PETCLF_HOME, the worker's process) of a worker running
    the heat-map service."""
    root = tmp_path_factory.mktemp("heatmap_service")
    models, home = root / "models", root / "home"
    models.mkdir()
    for suffix in (".h5", ".json"):
        shutil.copy(tiny_model.with_suffix(suffix), models / f"tiny{suffix}")
    address = f"127.0.0.1:{free_port()}"
    env = {
        "PETCLF_HOME": str(home),
        "PETCLF_MODEL": str(models / "tiny.h5"),
        "PETCLF_HEATMAP_ADDR": address,
    }
    with start_worker(home, env, heatmaps=True) as worker:
        os.environ["PETCLF_HEATMAP_ADDR"] = address
        try:
            wait_until(ping, STARTUP_SECONDS, "the heat-map service answering")
            yield address, models / "tiny.h5", home, worker
        finally:
            del os.environ["PETCLF_HEATMAP_ADDR"]


@pytest.fixture
def address(service, monkeypatch):
    monkeypatch.setenv("PETCLF_HEATMAP_ADDR", service[0])
    return service[0]


def test_the_overlay_of_the_top_class_or_of_the_one_asked_for(service, address):
    _, model, _, _ = service
    photo = encode(shape_image("cat", seed=30_000, size=(300, 200)), "JPEG")
    top = heatmap(model, photo)
    assert top.label == "cat"
    overlaid = Image.open(io.BytesIO(top.png))
    assert overlaid.format == "PNG" and overlaid.size == (IMAGE_SIZE, IMAGE_SIZE)
    asked = heatmap(model, photo, label="dog")
    assert asked.label == "dog" and asked.png != top.png
    assert heatmap_png(model, photo) == top.png  # the same photo, the same map


@pytest.mark.parametrize(
    ("label", "photo", "status", "code"),
    [
        ("hamster", encode(shape_image("cat"), "PNG"), 422, "unknown_label"),
        (None, b"just some text, not a photo", 415, "unsupported_image"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason(service, address, label, photo, status, code):
    with pytest.raises(HeatmapRefused) as refused:
        heatmap_png(service[1], photo, label=label)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_only_models_petclf_serves_are_opened(service, address, tiny_model):
    _, model, home, _ = service
    with pytest.raises(HeatmapRefused) as refused:
        heatmap_png(tiny_model, encode(shape_image("cat"), "PNG"))  # a file elsewhere
    assert (refused.value.status, refused.value.code) == (403, "model_not_served")
    with pytest.raises(HeatmapRefused) as refused:
        heatmap_png(home / "projects" / "gone" / "v1.h5", encode(shape_image("cat"), "PNG"))
    assert (refused.value.status, refused.value.code) == (410, "model_gone")


def test_a_second_service_on_the_same_address_steps_aside(service, address):
    finished = subprocess.run(
        [sys.executable, "-m", "jobs.heatmap_service"],
        env={**os.environ, "PETCLF_HEATMAP_ADDR": address},
        capture_output=True,
        timeout=30,
    )
    assert finished.returncode == CANNOT_LISTEN
    assert b"tensorflow" not in finished.stderr.lower()  # it stopped before loading anything


def test_the_worker_starts_the_service_again_when_it_dies(service, address):
    def health() -> dict:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=5) as answer:
            return json.load(answer)

    first = health()["pid"]
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: ping() and health()["pid"] != first, STARTUP_SECONDS, "a new service")
    assert heatmap(service[1], encode(shape_image("dog", seed=5), "PNG")).label == "dog"


def test_the_service_dies_with_a_killed_worker(service, address):
    worker = service[3]
    worker.kill()  # SIGKILL: the worker can't stop its child itself
    worker.wait()
    wait_until(lambda: not ping(), 10, "the heat-map service gone with its worker")


def test_no_service_is_an_unavailable_error(monkeypatch):
    monkeypatch.setenv("PETCLF_HEATMAP_ADDR", f"127.0.0.1:{free_port()}")
    with pytest.raises(HeatmapUnavailable, match="petclf worker") as unavailable:
        heatmap_png("models/pets.h5", b"photo")
    assert unavailable.value.status == 503
    assert not ping()


def test_the_client_never_loads_tensorflow():
    code = (
        "import sys, classifier.heatmap_client\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_bad_address_stops_the_worker_with_one_line(tmp_path):
    env = {**os.environ, "PETCLF_HOME": str(tmp_path), "PETCLF_HEATMAP_ADDR": "nonsense"}
    finished = subprocess.run(
        [sys.executable, "-m", "petclf", "worker"], env=env, capture_output=True, text=True
    )
    assert finished.returncode != 0
    assert finished.stderr.strip().splitlines() == [
        "petclf worker: error: PETCLF_HEATMAP_ADDR must be host:port (like 127.0.0.1:9997), "
        "not 'nonsense'"
    ]
