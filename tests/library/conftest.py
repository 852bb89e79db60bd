"""Fixtures of the library tests: the tiny model as the pet model, with a copy of it beside as
`imagenet.h5` (so the any-object model runs too, without the large one), and a fresh store."""

import os
import shutil
from pathlib import Path

import pytest

from tests.stored_state import fresh_home


@pytest.fixture(scope="session")
def library_models(tmp_path_factory, tiny_model) -> Path:
    """The pet model's .h5 (the tiny model); `imagenet.h5` beside it is the tiny model too."""
    folder = tmp_path_factory.mktemp("library_models")
    for name in ("pets", "imagenet"):
        for suffix in (".h5", ".json"):
            shutil.copy(tiny_model.with_suffix(suffix), folder / f"{name}{suffix}")
    return folder / "pets.h5"


@pytest.fixture
def library_home(tmp_path, monkeypatch, library_models) -> Path:
    """An empty PETCLF_HOME on SQLite, with the library models as the active ones."""
    return fresh_home(tmp_path, monkeypatch, model=library_models)


@pytest.fixture
def library_env(library_home) -> dict:
    """The environment of a `petclf` process on the same store and models."""
    return dict(os.environ)
