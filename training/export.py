"""Writing and reading the `.h5`: no optimizer state, and never a half-written file in place of a good one."""

import contextlib
import io
import logging
from pathlib import Path

from preprocessing.dataset import write_atomically
from training.errors import ModelFileError


def save_h5(model, path: Path) -> Path:
    """Serialise in memory, then write a temporary file beside `path` and rename it over `path`.

    h5py can crash the process when the disk fills during its own writes; plain file writes
    fail with a clean OSError instead.
    """
    try:
        data = h5_bytes(model)
    except Exception as exc:  # anything Keras or h5py raises while serialising
        raise ModelFileError(f"could not serialise the model for {path}: {exc}") from None
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise ModelFileError(f"could not save the model to {path}: {exc.strerror or exc}") from None
    return path


def h5_bytes(model) -> bytes:
    """The bytes `model.save("x.h5", include_optimizer=False)` would write."""
    import h5py

    # what model.save uses for .h5, given an open file
    from keras.src.legacy.saving import (
        legacy_h5_format,
    )

    buffer = io.BytesIO()
    with _quiet_absl(), h5py.File(buffer, "w") as h5:
        legacy_h5_format.save_model_to_hdf5(model, h5, include_optimizer=False)
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet_absl():
    """Keras warns through absl that .h5 is a legacy format; it is our contract, so skip the noise."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load_h5(path: Path):
    """The Keras model of an .h5 file, with a clear error when it isn't one."""
    import keras

    if not path.is_file():
        raise ModelFileError(f"the model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # h5py, Keras and OS errors for a damaged or foreign file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"can't load the model {path}: {detail}") from None
