import subprocess
import sys
import time

import requests

from tests.servers import free_port
from tests.webapp.conftest import cat_jpeg


def test_serve_runs_the_app(tiny_model):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "petclf", "serve", "--port", str(port), "--model", str(tiny_model)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read()
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        response = requests.post(
            f"http://127.0.0.1:{port}/api/v1/predict",
            files={"file": ("a.jpg", cat_jpeg())},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json()["predictions"]
    finally:
        server.terminate()
        server.wait(10)


def test_serve_without_a_model_says_which_file(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "petclf", "serve", "--model", str(tmp_path / "none.h5")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"petclf serve: error: the model file {tmp_path / 'none.h5'} does not exist (train one with `petclf train`, or set PETCLF_MODEL)"
    ]


def test_serve_help():
    done = subprocess.run(
        [sys.executable, "-m", "petclf", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert all(
        option in done.stdout
        for option in ("--host", "--port", "--model", "--max-upload-mb", "gunicorn")
    )
