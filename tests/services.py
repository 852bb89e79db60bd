"""Real Redis and PostgreSQL for tests, started from Debian's packages on free loopback ports in
temporary folders, once per session and only when a test asks:

    def test_queue(redis_url):        # redis://127.0.0.1:<port>/0
    def test_store(postgres_url):     # postgresql+psycopg://petclf@127.0.0.1:<port>/petclf_test

A missing server program skips the test with the package to install (`make system-deps`).
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis

from tests.servers import free_port

POSTGRES_USER = "petclf"
POSTGRES_DATABASE = "petclf_test"


def postgres_bin() -> Path | None:
    """The folder of initdb and postgres: Debian keeps them off PATH, one folder per version."""
    folders = [Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if folders:
        return max(folders, key=lambda folder: int(folder.parent.name))
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_account() -> dict:
    """Popen arguments that run PostgreSQL as the `postgres` user when we are root (initdb and
    postgres refuse root); nothing otherwise."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip(
            "running as root needs the postgres user to start PostgreSQL: run `make system-deps` (package postgresql)"
        )
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def wait_until_ready(
    process: subprocess.Popen, ready, log: Path, name: str, timeout: float = 60.0
) -> None:
    """Poll `ready()` until it returns without raising; fail with the server's log if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            ready()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not accept connections within {timeout} s:\n{log.read_text(errors='replace')}"
                ) from None
            time.sleep(0.1)


def stop(process: subprocess.Popen, signal_number: int) -> None:
    if process.poll() is None:
        process.send_signal(signal_number)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throwaway redis-server that keeps nothing on disk."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed: run `make system-deps` (package redis-server)")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = folder / "redis.log"
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(
            process, lambda: redis.Redis(port=port, socket_timeout=1).ping(), log, "redis-server"
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process, signal.SIGTERM)


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (no fsync: nothing in it outlives the session) with one
    empty database, reached over TCP without a password."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed: run `make system-deps` (package postgresql)")
    account = postgres_account()
    # Not under pytest's own temporary folder: the postgres user can't enter root's.
    folder = Path(tempfile.mkdtemp(prefix="petclf-postgres-"))
    if account:
        os.chown(folder, account["user"], account["group"])
    data, log = folder / "data", folder / "postgres.log"
    try:
        initdb = [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            POSTGRES_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        done = subprocess.run(initdb, cwd=folder, capture_output=True, text=True, **account)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        port = free_port()
        server = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder)]
        for setting in (
            "listen_addresses=127.0.0.1",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ):
            server += ["-c", setting]
        with log.open("wb") as output:
            process = subprocess.Popen(
                server, cwd=folder, stdout=output, stderr=subprocess.STDOUT, **account
            )
        try:
            admin = (
                f"host=127.0.0.1 port={port} user={POSTGRES_USER} dbname=postgres connect_timeout=2"
            )
            wait_until_ready(process, lambda: psycopg.connect(admin).close(), log, "postgres")
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {POSTGRES_DATABASE}")
            yield f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{port}/{POSTGRES_DATABASE}"
        finally:
            stop(process, signal.SIGINT)  # PostgreSQL's fast shutdown
    finally:
        shutil.rmtree(folder, ignore_errors=True)
