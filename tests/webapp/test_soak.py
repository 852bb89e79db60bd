"""A short soak under a real gunicorn: real HTTP, kept-alive clients, hostile files among the
photos, and a worker recycled in the middle of it; not one request may be lost."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.load import generated_photos, soak, upload_mix
from tests.servers import GunicornServer

REQUESTS = 500
CONCURRENCY = 8
MAX_UPLOAD_MB = 1


@pytest.fixture
def server(tiny_model, tmp_path):
    env = {"PETCLF_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB), "PETCLF_HOME": str(tmp_path)}
    with GunicornServer(tiny_model, tmp_path, workers=2, threads=2, env=env) as running:
        yield running


def test_a_worker_recycled_mid_soak_loses_no_request(server):
    inputs = upload_mix(generated_photos(), hostile_share=0.15, max_upload_mb=MAX_UPLOAD_MB)
    first_workers = server.worker_pids()
    recycled = threading.Event()

    def recycle_one_worker(sent: int) -> None:
        # SIGTERM is the graceful stop a worker also takes at max_requests; the master replaces it.
        if sent == REQUESTS // 3:
            os.kill(min(first_workers), signal.SIGTERM)
            recycled.set()

    result = soak(
        server.url,
        inputs,
        requests_total=REQUESTS,
        concurrency=CONCURRENCY,
        during=recycle_one_worker,
    )
    assert result.errors == {}
    assert result.unexpected == {}  # every photo 200, every hostile file its 4xx, no 5xx
    assert result.answered == REQUESTS
    assert {kind for kind, _ in result.statuses} == {
        "photo",
        "html",
        "svg",
        "truncated",
        "bomb",
        "oversize",
    }
    assert recycled.is_set()
    _wait_for_exit(min(first_workers))
    assert len(server.worker_pids() - first_workers) == 1  # replaced by a new worker


def _wait_for_exit(pid: int, timeout: float = 60.0) -> None:
    """A stopping worker first finishes its requests (up to graceful_timeout)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"worker {pid} still running {timeout} s after SIGTERM"
        time.sleep(0.1)
