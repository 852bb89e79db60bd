import pytest

from classifier import load_engine


@pytest.fixture(scope="session")
def engine(tiny_model):
    return load_engine(tiny_model)
