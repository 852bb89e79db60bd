"""Checks on the deploy files that need no model: shellcheck, nginx -t, the units' settings."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.nginx import DEPLOY, REPO, SITE_TEMPLATE, NginxPrefix, render_template
from tests.servers import free_port

SKIPPED_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "Images",
    "Test_train_sets",
    "__pycache__",
    ".pytest_cache",
}
UNITS = ("petclf-web.service", "petclf-worker.service", "petclf-tcp.service", "petclf-bot.service")


def shell_scripts() -> list[Path]:
    """Every *.sh in the repository, and every file whose shebang runs sh or bash (.ci/run)."""
    found = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        for name in files:
            path = Path(root, name)
            if path.suffix == ".sh":
                found.append(path)
                continue
            try:
                with path.open("rb") as stream:
                    first = stream.readline(100)
            except OSError:
                continue
            if re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba)?sh\b", first):
                found.append(path)
    return sorted(found)


def test_shellcheck_passes_on_every_shell_script():
    scripts = shell_scripts()
    names = {path.relative_to(REPO).as_posix() for path in scripts}
    assert {
        "deploy/install.sh",
        "deploy/update-model.sh",
        ".ci/run",
        "scripts/install-system-deps.sh",
    } <= names
    done = subprocess.run(
        ["shellcheck", "--external-sources", *(str(path.relative_to(REPO)) for path in scripts)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "values",
    [
        {"SERVER_NAME": "_", "UPSTREAM": "127.0.0.1:8000", "MAX_UPLOAD_KB": "10240"},
        {"SERVER_NAME": "example.com", "UPSTREAM": "localhost:{port}", "MAX_UPLOAD_KB": "1536"},
    ],
    ids=["defaults", "named"],
)
def test_nginx_accepts_the_site(values):
    """nginx -t binds the listen address, so an unprivileged check listens on a loopback port."""
    port = free_port()
    site = render_template(
        SITE_TEMPLATE,
        **{name: value.format(port=port) for name, value in values.items()},
        LISTEN=f"127.0.0.1:{port}",
        LOG_DIR="{prefix}/logs",
        STATIC_DIR="{prefix}/static",
    )
    nginx = NginxPrefix(site)
    try:
        done = nginx.test_config()
    finally:
        nginx.close()
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_a_broken_site_fails_nginx_t():
    """The nginx -t check can fail: a site missing a semicolon is rejected."""
    site = render_template(
        SITE_TEMPLATE,
        LISTEN=f"127.0.0.1:{free_port()}",
        SERVER_NAME="_",
        UPSTREAM="127.0.0.1:8000",
        MAX_UPLOAD_KB="10240",
        LOG_DIR="{prefix}/logs",
        STATIC_DIR="{prefix}/static",
    ).replace("gzip on;", "gzip on")
    nginx = NginxPrefix(site)
    try:
        assert nginx.test_config().returncode != 0
    finally:
        nginx.close()


def test_render_template_refuses_a_missing_value(tmp_path):
    done = subprocess.run(
        [str(DEPLOY / "render-template.sh"), str(SITE_TEMPLATE), "LISTEN=80"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "@UPSTREAM@" in done.stderr and done.stdout == ""


def unit_settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_restarts_reads_the_settings_and_is_hardened(unit):
    settings = unit_settings(unit)
    assert settings["Restart"] == ["on-failure"]
    assert settings["EnvironmentFile"] == ["/etc/petclf/petclf.env"]
    assert settings["User"] == ["petclf"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert settings[key] == ["yes"], key
    assert settings["ProtectSystem"] == ["strict"]


def test_units_write_only_where_they_must():
    assert unit_settings("petclf-web.service")["ReadWritePaths"] == ["/var/lib/petclf"]
    assert unit_settings("petclf-tcp.service")["ReadWritePaths"] == ["/var/lib/petclf"]
    worker = unit_settings("petclf-worker.service")
    # /var/lib/petclf
    assert worker["StateDirectory"] == ["petclf"] and "ReadWritePaths" not in worker
    assert unit_settings("petclf-bot.service")["ReadWritePaths"] == ["/var/lib/petclf"]  # its spool


def environment(unit: str) -> dict[str, str]:
    return dict(
        pair.split("=", 1)
        for line in unit_settings(unit).get("Environment", [])
        for pair in line.split()
    )


@pytest.mark.parametrize("unit", ["petclf-web.service", "petclf-worker.service"])
def test_the_units_that_store_things_keep_them_in_var_lib_petclf(unit):
    """The default for settings files written before PETCLF_HOME existed (the file wins)."""
    assert environment(unit)["PETCLF_HOME"] == "/var/lib/petclf"
    assert unit_settings(unit)["WorkingDirectory"] == ["/var/lib/petclf"]


def test_worker_unit_runs_the_worker_and_its_trainings_stop_with_it():
    worker = unit_settings("petclf-worker.service")
    assert worker["ExecStart"] == ["/opt/petclf/bin/petclf worker"]
    assert worker["User"] == unit_settings("petclf-web.service")["User"]
    # SIGTERM reaches the worker, which takes its training child with it; nothing of the unit outlives a stop.
    assert worker["KillMode"][0] in ("mixed", "control-group")
    assert int(worker["TimeoutStopSec"][0]) >= 60


def test_web_unit_runs_gunicorn_on_the_deploy_config_and_reloads_with_hup():
    web = unit_settings("petclf-web.service")
    assert web["ExecStart"] == [
        '/opt/petclf/venv/bin/gunicorn -c /opt/petclf/app/deploy/gunicorn.conf.py "webapp:create_app()"'
    ]
    assert web["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]
    assert unit_settings("petclf-tcp.service")["ExecStart"] == ["/opt/petclf/bin/petclf tcp-server"]


def test_bot_wants_the_tcp_server_and_needs_a_token():
    bot = unit_settings("petclf-bot.service")
    assert bot["ExecStart"] == ["/opt/petclf/bin/petclf bot"]
    assert "petclf-tcp.service" in bot["Wants"][0].split()
    assert "petclf-tcp.service" in bot["After"][0].split()
    condition = bot["ExecCondition"][0]
    # The condition, run the way systemd runs it ($$ is systemd's escape for $), passes only
    # with a token in the environment.
    argv = ["/bin/sh", "-c", condition.split("-c ", 1)[1].strip("'").replace("$$", "$")]
    without = {key: value for key, value in os.environ.items() if key != "TELEGRAM_TOKEN"}
    assert subprocess.run(argv, env=without).returncode != 0
    assert subprocess.run(argv, env={**without, "TELEGRAM_TOKEN": ""}).returncode != 0
    assert subprocess.run(argv, env={**without, "TELEGRAM_TOKEN": "123:abc"}).returncode == 0


def test_env_example_sets_what_the_services_read():
    text = (DEPLOY / "petclf.env.example").read_text()
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert settings["PETCLF_MODEL"] == "/var/lib/petclf/models/current/pets.h5"
    assert settings["PETCLF_MAX_UPLOAD_MB"] == "10"
    assert settings["PETCLF_TCP_ADDR"] == "127.0.0.1:9999"
    assert settings["TELEGRAM_TOKEN"] == ""
    assert settings["PETCLF_HOME"] == "/var/lib/petclf"
    assert settings["PETCLF_ADMIN_TOKEN"] == ""  # install.sh fills in a new one
    # The scale-out settings and the engine cache size are documented with their form.
    assert "\n#PETCLF_DATABASE_URL=postgresql+psycopg://" in text
    assert "\n#PETCLF_QUEUE_URL=redis://" in text
    assert "\n#PETCLF_MAX_ENGINES=8\n" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/new.h5"], "no such model file: /nonexistent/new.h5"),
        (["{h5}"], "no model card for {h5}: expected {card}"),
        (["{h5}", "{card}"], "PETCLF_MODEL must be the absolute path of an .h5 file"),
        (["--bogus", "{h5}"], "unknown option --bogus"),
    ],
)
def test_update_model_explains_what_is_wrong(tmp_path, args, message):
    h5, card = tmp_path / "new.h5", tmp_path / "other.json"
    h5.write_bytes(b"not checked yet")
    card.write_text("{}")
    paths = {"h5": h5, "card": card}
    env = {**os.environ, "PETCLF_ENV_FILE": "/nonexistent", "PETCLF_MODEL": "relative/pets.h5"}
    done = subprocess.run(
        [str(DEPLOY / "update-model.sh"), *(arg.format(**paths) for arg in args)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode != 0
    assert message.format(h5=h5, card=tmp_path / "new.json") in done.stderr
