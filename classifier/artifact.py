"""A model artifact: the .h5 (source of truth) and its model card, checked against each other."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import scoring
from classifier.card import card_path, check_sha256, read_card
from classifier.errors import ModelError

DEFAULT_MODEL = "models/pets.h5"


def model_path(flag: str | os.PathLike | None = None) -> Path:
    """The model to use: the flag, falling back to $PETCLF_MODEL, falling back to the default."""
    return Path(flag or os.environ.get("PETCLF_MODEL") or DEFAULT_MODEL)


@dataclass(frozen=True)
class ModelArtifact:
    path: Path  # the .h5
    card: dict
    sha256: str  # of the .h5, as read now

    @property
    def labels(self) -> list[str]:
        return list(self.card["labels"])

    @property
    def input_size(self) -> int:
        return int(self.card["input_size"])

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Raw model outputs (n, classes) → the label probabilities shown to users."""
        return scoring.probabilities(raw, self.card["output"])

    def score(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw model outputs → (probabilities, confidence scores, unknown flags), as the card says."""
        return scoring.score_outputs(raw, self.card)


def open_artifact(path) -> ModelArtifact:
    """Read the .h5's card and check that it describes this very file. Raises ModelError."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"the model file {path} does not exist (train one with `petclf train`, or set PETCLF_MODEL)"
        )
    card = read_card(card_path(path))
    try:
        digest = check_sha256(card, path)
    except OSError as exc:
        raise ModelError(f"can't read the model file {path}: {exc.strerror or exc}") from None
    return ModelArtifact(path=path, card=card, sha256=digest)
