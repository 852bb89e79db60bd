"""Real servers for tests: gunicorn with deploy/gunicorn.conf.py on a free loopback port.

with GunicornServer(tiny_model, log_dir=tmp_path) as server:
    requests.get(f"{server.url}/healthz")
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GunicornServer:
    """`gunicorn -c deploy/gunicorn.conf.py "webapp:create_app()"` serving `model`."""

    def __init__(
        self,
        model: Path,
        log_dir: Path,
        *,
        workers: int | None = 2,
        threads: int | None = 2,
        env: dict | None = None,
        app: str = "webapp:create_app()",
        extra_args: tuple[str, ...] = (),
    ):
        """workers/threads None: the production defaults of deploy/gunicorn.conf.py."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"gunicorn-{self.port}.log"
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        if workers is not None:
            self.command += ["--workers", str(workers)]
        if threads is not None:
            self.command += ["--threads", str(threads)]
        self.command += [*extra_args, app]
        # A module's server starts before the tests' own PETCLF_HOME is set: it keeps its store
        # (predictions, their photos) beside its log, never in the checkout's var/.
        home = os.environ.get("PETCLF_HOME") or str(Path(log_dir) / "home")
        self.env = {**os.environ, "PETCLF_HOME": home, "PETCLF_MODEL": str(model), **(env or {})}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> "GunicornServer":
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def worker_pids(self) -> set[int]:
        """The master's current worker processes."""
        children = (
            Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        )
        return {int(pid) for pid in children}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "GunicornServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
