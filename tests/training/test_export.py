"""Saving the .h5: never a half-written file in place of a good one."""

import resource
import shutil
import signal

import pytest

from training.errors import ModelFileError
from training.export import load_h5, save_h5
from training.models import build


@pytest.fixture
def file_size_limit():
    """Make writes beyond a size fail with EFBIG, as a full disk fails them with ENOSPC."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


@pytest.fixture(scope="module")
def fresh_model():
    return build("tiny_cnn", 3).model


def test_a_failed_save_keeps_the_previous_model(fresh_model, tiny_model, tmp_path, file_size_limit):
    model = fresh_model
    target = tmp_path / "pets.h5"
    shutil.copy(tiny_model, target)
    good = target.read_bytes()
    file_size_limit(4096)
    with pytest.raises(ModelFileError, match="could not save the model to .*pets.h5"):
        save_h5(model, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["pets.h5"]


def test_save_replaces_the_file_and_loads_back(fresh_model, tmp_path):
    model = fresh_model
    target = tmp_path / "pets.h5"
    target.write_bytes(b"an older model")
    save_h5(model, target)
    assert load_h5(target).count_params() == model.count_params()
    assert [p.name for p in tmp_path.iterdir()] == ["pets.h5"]


def test_loading_a_file_that_is_not_a_model(tmp_path):
    (tmp_path / "x.h5").write_text("hello")
    with pytest.raises(ModelFileError, match="can't load the model"):
        load_h5(tmp_path / "x.h5")
