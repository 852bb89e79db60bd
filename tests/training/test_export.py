"""Saving the .h5: never a half-written file in place of a good one."""

import re
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from training.errors import ModelFileError
from training.export import load_h5, save_h5
from training.recipes import build


@pytest.fixture(scope="module")
def fresh_model():
    return build("tiny_cnn", 3).model


def _limit_file_size():
    """In the child only: writes beyond 4 KiB fail with EFBIG, as a full disk fails them with ENOSPC."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_failed_save_keeps_the_previous_model(tiny_model, tmp_path):
    target = tmp_path / "pets.h5"
    shutil.copy(tiny_model, target)
    good = target.read_bytes()
    save_again = (
        "import sys; from pathlib import Path; from training.export import save_h5; "
        "from training.recipes import build; save_h5(build('tiny_cnn', 3).model, Path(sys.argv[1]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", save_again, str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )
    assert result.returncode != 0
    assert "ModelFileError" in result.stderr
    assert re.search(r"could not save the model to .*pets.h5", result.stderr)
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
