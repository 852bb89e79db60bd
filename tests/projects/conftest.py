"""One project trained by `petclf project train` on a terminal, shared by the CLI tests and the worker
tests (each real training takes a minute here, so the session trains it once)."""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import run_petclf
from tests.projects.helpers import Terminal, write_shape_folders

LABELS = ("cat", "dog")


@dataclass(frozen=True)
class TrainedProject:
    name: str
    home: Path
    env: dict  # the environment of every process that works on it
    photos: Path  # the folder of class folders it was filled from
    # `petclf project train`: exit code, stdout, what the terminal showed
    train: tuple[int, str, str]


def project_env(home: Path, model: Path, **extra: str) -> dict:
    """The environment of a `petclf` process working on the store in `home`, on `model`'s backbone."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL", "PETCLF_ADMIN_TOKEN")
    }
    return {**env, "PETCLF_HOME": str(home), "PETCLF_MODEL": str(model), **extra}


@pytest.fixture(scope="session")
def trained(tmp_path_factory, base_model) -> TrainedProject:
    root = tmp_path_factory.mktemp("trained")
    env = project_env(root / "home", base_model)
    photos = write_shape_folders(root / "photos", LABELS, per_class=8)
    for command in (
        ("create", "pets", "--class", "cat", "--class", "dog"),
        ("add", "pets", photos),
    ):
        done = run_petclf("project", *command, env=env)
        assert done.returncode == 0, done.stderr
    train = Terminal("project", "train", "pets", env=env).finish()
    assert train[0] == 0, train[2]  # every test of it needs v1
    return TrainedProject("pets", root / "home", env, photos, train)


@pytest.fixture
def in_trained_home(trained, monkeypatch) -> TrainedProject:
    """This test's own store calls go to the trained project's store too."""
    for key in ("PETCLF_HOME", "PETCLF_MODEL"):
        monkeypatch.setenv(key, trained.env[key])
    for key in ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL"):
        monkeypatch.delenv(key, raising=False)
    return trained
