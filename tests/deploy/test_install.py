"""install.sh, staged with --prefix into a temporary folder (no service is touched): the tree
it builds, the units and site it renders, and that a second run keeps settings and model."""

import os
import pwd
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from classifier.card import sha256_file
from tests.deploy.nginx import DEPLOY, REPO, NginxPrefix
from tests.servers import free_port

INSTALL = DEPLOY / "install.sh"
UNITS = ("petclf-web.service", "petclf-worker.service", "petclf-tcp.service", "petclf-bot.service")


def install(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(INSTALL), *args], capture_output=True, text=True, timeout=600)


def env_setting(env_file: Path, name: str) -> str:
    values = [
        line.split("=", 1)[1]
        for line in env_file.read_text().splitlines()
        if line.startswith(f"{name}=")
    ]
    assert len(values) == 1, f"{name} is set {len(values)} times in {env_file}"
    return values[0]


@pytest.fixture(scope="module")
def staged(tmp_path_factory, tiny_model) -> Path:
    """A staged install of this checkout with the tiny model, reusing the test virtualenv."""
    root = tmp_path_factory.mktemp("staged")
    me = pwd.getpwuid(os.geteuid()).pw_name
    done = install(
        "--prefix",
        str(root),
        "--venv",
        sys.prefix,
        "--user",
        me,
        "--model",
        str(tiny_model),
        "--server-name",
        "example.com",
    )
    assert done.returncode == 0, done.stderr
    assert "no service is touched" in done.stdout
    return root


def test_the_app_runs_from_its_own_tree(staged):
    app = staged / "opt/petclf/app"
    assert (app / "deploy/gunicorn.conf.py").is_file() and (app / "petclf/__main__.py").is_file()
    assert (staged / "opt/petclf/venv").resolve() == Path(sys.prefix).resolve()
    done = subprocess.run(
        [str(staged / "opt/petclf/bin/petclf"), "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("petclf ")
    # What petclf-worker.service runs is there, with the packages it needs.
    done = subprocess.run(
        [str(staged / "opt/petclf/bin/petclf"), "worker", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: petclf worker"), done.stderr


def test_every_package_of_the_project_is_installed(staged):
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    present = [
        name.rstrip("*") for name in packages if (REPO / name.rstrip("*") / "__init__.py").is_file()
    ]
    assert "store" in present
    missing = [
        name for name in present if not (staged / "opt/petclf/app" / name / "__init__.py").is_file()
    ]
    assert missing == []


def test_the_model_goes_live_behind_the_current_link(staged, tiny_model):
    current = staged / "var/lib/petclf/models/current"
    assert current.is_symlink() and os.readlink(current).startswith("releases/")
    assert sha256_file(current / "pets.h5") == sha256_file(tiny_model)
    assert (current / "pets.json").is_file()
    # built during the check, so services start fast
    assert (current / "pets.runtime.json").is_file()


def test_settings_point_at_the_installed_model_and_state(staged):
    text = (staged / "etc/petclf/petclf.env").read_text()
    assert f"PETCLF_MODEL={staged}/var/lib/petclf/models/current/pets.h5\n" in text
    assert f"PETCLF_HOME={staged}/var/lib/petclf\n" in text
    assert (staged / "etc/petclf/petclf.env").stat().st_mode & 0o777 == 0o640


def test_settings_get_a_new_random_admin_token_and_a_missing_one_is_reported(staged, tmp_path):
    token = env_setting(staged / "etc/petclf/petclf.env", "PETCLF_ADMIN_TOKEN")
    assert len(token) >= 32
    other, me = tmp_path / "other", pwd.getpwuid(os.geteuid()).pw_name
    done = install("--prefix", str(other), "--venv", sys.prefix, "--user", me)
    assert done.returncode == 0, done.stderr
    env_file = other / "etc/petclf/petclf.env"
    other_token = env_setting(env_file, "PETCLF_ADMIN_TOKEN")
    assert other_token not in ("", token)
    assert other_token not in done.stdout + done.stderr  # never printed

    env_file.write_text(
        env_file.read_text().replace(f"PETCLF_ADMIN_TOKEN={other_token}", "PETCLF_ADMIN_TOKEN=")
    )
    done = install("--prefix", str(other), "--venv", sys.prefix, "--user", me)

    assert done.returncode == 0, done.stderr
    assert "sets no PETCLF_ADMIN_TOKEN" in done.stderr
    assert env_setting(env_file, "PETCLF_ADMIN_TOKEN") == ""  # the operator's file stays as it is


def test_units_are_rendered_for_the_layout(staged):
    for unit in UNITS:
        text = (staged / "etc/systemd/system" / unit).read_text()
        assert f"EnvironmentFile={staged}/etc/petclf/petclf.env" in text
        assert "/opt/petclf" not in text.replace(f"{staged}/opt/petclf", "")
    web = (staged / "etc/systemd/system/petclf-web.service").read_text()
    assert (
        f"ExecStart={staged}/opt/petclf/venv/bin/gunicorn -c {staged}/opt/petclf/app/deploy/gunicorn.conf.py"
        in web
    )
    worker = (staged / "etc/systemd/system/petclf-worker.service").read_text()
    assert f"ExecStart={staged}/opt/petclf/bin/petclf worker\n" in worker
    assert f" PETCLF_HOME={staged}/var/lib/petclf\n" in worker


def test_systemd_analyze_verifies_the_units(staged):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (no systemd on this host)")
    units = [str(staged / "etc/systemd/system" / unit) for unit in UNITS]
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # A setting systemd can't parse is only a warning, "<unit file>:<line>: ...", and exit 0.
    assert str(staged) not in done.stdout + done.stderr


def test_the_site_serves_the_installed_static_files_and_passes_nginx_t(staged):
    site = (staged / "etc/nginx/sites-available/petclf").read_text()
    assert (
        staged / "etc/nginx/sites-enabled/petclf"
    ).resolve() == staged / "etc/nginx/sites-available/petclf"
    assert f"alias {staged}/opt/petclf/app/webapp/static/;" in site
    assert "client_max_body_size 10240k;" in site  # PETCLF_MAX_UPLOAD_MB=10
    assert "server_name example.com;" in site
    assert "server 127.0.0.1:8000;" in site
    # nginx -t binds the listen address and opens the logs, as nobody when we are root: check
    # it on a free loopback port with the logs in its own prefix.
    site = site.replace(
        "listen 80 default_server;", f"listen 127.0.0.1:{free_port()} default_server;"
    )
    nginx = NginxPrefix(site.replace(f"{staged}/var/log/nginx", "{prefix}/logs"))
    try:
        done = nginx.test_config()
    finally:
        nginx.close()
    assert done.returncode == 0, done.stderr


def test_running_again_keeps_settings_and_model_and_applies_the_upload_limit(staged):
    env_file = staged / "etc/petclf/petclf.env"
    edited = (
        env_file.read_text().replace("PETCLF_MAX_UPLOAD_MB=10", "PETCLF_MAX_UPLOAD_MB=2.5")
        + "TELEGRAM_TOKEN=123:secret\n"
    )
    env_file.write_text(edited)
    live = os.readlink(staged / "var/lib/petclf/models/current")

    done = install(
        "--prefix", str(staged), "--venv", sys.prefix, "--user", pwd.getpwuid(os.geteuid()).pw_name
    )

    assert done.returncode == 0, done.stderr
    assert "keeping your settings" in done.stdout
    assert env_file.read_text() == edited
    assert os.readlink(staged / "var/lib/petclf/models/current") == live
    assert (
        "client_max_body_size 2560k;" in (staged / "etc/nginx/sites-available/petclf").read_text()
    )
    assert (staged / "opt/petclf/app/deploy/install.sh").is_file()
    assert not list((staged / "opt/petclf").glob(".app*"))  # no staging copy left behind


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "unknown argument --bogus"),
        (["--prefix", "relative/dir"], "--prefix must be an absolute path"),
        (
            ["--prefix", "/tmp/x", "--python", "/nonexistent/python3"],
            "/nonexistent/python3 not found",
        ),
        (["--prefix", "/tmp/x", "--venv", "/nonexistent"], "is not a virtualenv"),
    ],
)
def test_bad_arguments_and_missing_prerequisites_get_one_clear_line(args, message):
    done = install(*args)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
