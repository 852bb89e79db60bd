"""The inference engine: one loaded model artifact → Prediction for bytes, images or batches."""

import os
from pathlib import Path

import numpy as np
from PIL import Image

from classifier.artifact import ModelArtifact, open_artifact
from classifier.card import card_task
from classifier.errors import ModelError
from classifier.prediction import Prediction
from classifier.runtime import prepare_runner
from classifier.scoring import DEFAULT_TOP
from classifier.tags import present_tags, tag_probabilities
from preprocessing import DEFAULT_MAX_PIXELS, fit_and_pad, load_padded, to_array


class Engine:
    """Thread-safe: the runner lends each concurrent caller an interpreter of its own."""

    def __init__(self, artifact: ModelArtifact, runner, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.artifact = artifact
        self.runner = runner
        self.max_pixels = max_pixels

    @property
    def card(self) -> dict:
        return self.artifact.card

    @property
    def labels(self) -> list[str]:
        return self.artifact.labels

    @property
    def runtime(self) -> str:
        """Which runtime answers: "tflite" normally, "keras" when conversion wasn't faithful."""
        return self.runner.name

    @property
    def precision(self) -> str:
        """ "int8" for a runtime calibrated and checked at training (`--int8-photos`), else "float32"."""
        return self.runner.precision

    def prepare(self, data: bytes) -> Image.Image:
        """An image file's bytes → the padded picture the model sees. Raises preprocessing.ImageError."""
        return load_padded(data, size=self.artifact.input_size, max_pixels=self.max_pixels)

    def predict_bytes(self, data: bytes, top: int = DEFAULT_TOP) -> Prediction:
        """An image file's bytes through the one image path. Raises preprocessing.ImageError."""
        return self.predict_image(self.prepare(data), top)

    def predict_image(self, image: Image.Image, top: int = DEFAULT_TOP) -> Prediction:
        return self.predict_batch([image], top)[0]

    def predict_batch(self, images: list[Image.Image], top: int = DEFAULT_TOP) -> list[Prediction]:
        if not images:
            return []
        batch = np.stack([to_array(self._padded(image)) for image in images])
        return self.predict_arrays(batch, top)

    def predict_arrays(self, batch: np.ndarray, top: int = DEFAULT_TOP) -> list[Prediction]:
        """Model input (n, size, size, 3) float32 0–255 → one Prediction per row."""
        probabilities, scores, unknown = self.score_arrays(batch)
        labels = self.labels
        predictions = []
        for row, score, is_unknown in zip(probabilities, scores, unknown):
            order = np.argsort(-row, kind="stable")[: max(1, top)]
            ranked = tuple((labels[i], float(row[i])) for i in order)
            predictions.append(Prediction(top=ranked, unknown=bool(is_unknown), score=float(score)))
        return predictions

    def score_arrays(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model input (n, size, size, 3) 0–255 → (probabilities, confidence scores, unknown flags), as the card says."""
        return self.artifact.score(self.runner.run(np.asarray(batch, dtype=np.float32)))

    def tag_image(self, image: Image.Image) -> list[dict]:
        """A tags model's tags of a picture already through the image path (any engine's
        `prepare`): `[{"tag", "proba"}]` above their thresholds."""
        return self.tag_arrays(to_array(self._padded(image))[np.newaxis])[0]

    def tag_arrays(self, batch: np.ndarray) -> list[list[dict]]:
        """A tags model: model input (n, size, size, 3) 0–255 → each image's tags."""
        probabilities = tag_probabilities(self.runner.run(np.asarray(batch, dtype=np.float32)))
        return present_tags(probabilities, self.card)

    def _padded(self, image: Image.Image) -> Image.Image:
        size = self.artifact.input_size
        if image.size == (size, size) and image.mode == "RGB":
            return image
        return fit_and_pad(image, size)


def load_engine(
    model_path: str | os.PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    threads: int = 4,
    task: str = "classify",
) -> Engine:
    """Load the .h5 + card, check the sha256, prepare the fast runtime, warm it up.

    `threads`: how many threads may predict at the same time (one interpreter each; more wait).
    `task`: what the model must do ("classify" or "tags", as its card says).
    Raises ModelError naming the file when the model is missing, unusable or of another task.
    """
    artifact = open_artifact(Path(model_path))
    if card_task(artifact.card) != task:
        raise ModelError(
            f"{artifact.path} is a {card_task(artifact.card)} model, not a {task} model"
            + (" (give it as the tags model: --tags-model)" if task == "classify" else "")
        )
    runner = prepare_runner(artifact, threads)  # its probe check is also the warm-up
    return Engine(artifact, runner, max_pixels)
