import shutil

import pytest

from classifier import load_engine


@pytest.fixture(scope="session")
def engine(tiny_model):
    return load_engine(tiny_model)


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    """The tiny model (.h5 + card, no cached runtime) in a folder of its own, free to tamper with."""
    for suffix in (".h5", ".json"):
        shutil.copy(tiny_model.with_suffix(suffix), tmp_path / f"model{suffix}")
    return tmp_path / "model.h5"
