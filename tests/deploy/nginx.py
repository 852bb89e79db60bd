"""Real nginx for the deploy tests: the site template rendered for 127.0.0.1 ports, inside a
minimal nginx.conf under a temporary prefix, run unprivileged (as nobody when the tests run as
root, so it also works in CI containers)."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SITE_TEMPLATE = DEPLOY / "nginx-petclf.conf"

MAIN_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    include {prefix}/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    access_log {prefix}/logs/access.log;
    include {site};
}}
"""
FALLBACK_MIME_TYPES = """\
types {
    text/html html; text/css css; application/javascript js; application/json json;
    image/png png; image/jpeg jpg jpeg; image/svg+xml svg; image/x-icon ico;
}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if not found:
        raise RuntimeError("nginx is not installed: run scripts/install-system-deps.sh")
    return found


def render_template(template: Path, **values) -> str:
    """The template through deploy/render-template.sh, as install.sh renders it."""
    done = subprocess.run(
        [
            str(DEPLOY / "render-template.sh"),
            str(template),
            *(f"{name}={value}" for name, value in values.items()),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"render-template.sh failed: {done.stderr}")
    return done.stdout


def unprivileged() -> dict:
    """Popen arguments that drop root to nobody; nothing when we're not root."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


class NginxPrefix:
    """A temporary nginx prefix: conf, logs, temp dirs and the static files, owned by whoever
    nginx runs as. `site` is the rendered site; paths in it may use {prefix}."""

    def __init__(self, site: str, static_source: Path | None = None):
        self.path = Path(tempfile.mkdtemp(prefix="petclf-nginx-"))
        for folder in ("logs", "tmp", "static"):
            (self.path / folder).mkdir()
        if static_source is not None:
            shutil.copytree(static_source, self.path / "static", dirs_exist_ok=True)
        mime = Path("/etc/nginx/mime.types")
        (self.path / "mime.types").write_text(
            mime.read_text() if mime.is_file() else FALLBACK_MIME_TYPES
        )
        self.site_path = self.path / "site.conf"
        self.site_path.write_text(site.replace("{prefix}", str(self.path)))
        self.conf_path = self.path / "nginx.conf"
        self.conf_path.write_text(MAIN_CONF.format(prefix=self.path, site=self.site_path))
        self.drop = unprivileged()
        if self.drop:
            for root, dirs, files in os.walk(self.path):
                for name in [root, *(os.path.join(root, entry) for entry in dirs + files)]:
                    os.chown(name, self.drop["user"], self.drop["group"])
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [
            nginx_binary(),
            "-p",
            str(self.path),
            "-c",
            str(self.conf_path),
            "-e",
            str(self.path / "logs/error.log"),
            *extra,
        ]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, **self.drop)

    def start(self, port: int, timeout: float = 15.0) -> None:
        self.process = subprocess.Popen(
            self.command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **self.drop,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start listening")

    def log(self, name: str) -> str:
        path = self.path / "logs" / name
        return path.read_text() if path.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stderr.close()
        shutil.rmtree(self.path, ignore_errors=True)
