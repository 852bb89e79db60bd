"""Writing and reading the `.h5`: no optimizer state, and never a half-written file in place of a good one."""

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from classifier.card import card_path, check_output_size, check_sha256, read_card
from training.errors import ModelFileError


def save_h5(model, path: Path) -> Path:
    """Save to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".h5", dir=path.parent)
    os.close(handle)
    try:
        with _quiet_absl():
            model.save(temporary, include_optimizer=False)
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ModelFileError(f"could not save the model to {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # h5py reports a full disk as its own error types
        Path(temporary).unlink(missing_ok=True)
        raise ModelFileError(f"could not save the model to {path}: {exc}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


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


def load_with_card(path: Path):
    """(model, card) after checking that the card belongs to this exact model file."""
    if not path.is_file():
        raise ModelFileError(f"the model file {path} does not exist")
    card = read_card(card_path(path))
    check_sha256(card, path)
    model = load_h5(path)
    check_output_size(card, int(model.outputs[0].shape[-1]), path)
    return model, card

