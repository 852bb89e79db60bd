"""Heat maps as the heat-map service makes them: each model loaded once and kept, keyed by its
path and its .h5's sha256 (a retrained model at the same path is a new entry), a few at a time.

Only models petclf serves are loaded: files under PETCLF_HOME (the projects' versions) or beside
the shipped model (PETCLF_MODEL), so a caller can't make the service open any file it names.
"""

import io
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from classifier.artifact import ModelArtifact, model_path, open_artifact
from jobs.errors import JobError
from preprocessing import IMAGE_SIZE, load_padded, to_array
from store import home

MAX_MODELS = 4  # each loaded model holds its weights and a traced gradient in memory

log = logging.getLogger("petclf.heatmaps")


class ModelNotServed(JobError):
    """The model asked for is not one petclf serves."""


class UnknownLabel(JobError):
    """The class asked for is not one of the model's."""


@dataclass(frozen=True)
class Explainer:
    artifact: ModelArtifact
    cam: object  # training.gradcam.GradCam


def served_roots() -> tuple[Path, ...]:
    return (_normal(home()), _normal(model_path()).parent)


class HeatMaker:
    """Thread-safe; one map at a time, since one already keeps the cores busy."""

    def __init__(self, roots: tuple[Path, ...], size: int = MAX_MODELS):
        self.roots, self.size = roots, size
        self._explainers: OrderedDict[tuple[Path, str], Explainer] = OrderedDict()
        self._lock = threading.Lock()

    def make(self, path: Path, image: bytes, label: str | None = None) -> tuple[bytes, str]:
        """(the overlay PNG, the label it explains) for the photo `image` and the model at `path`.

        Raises ModelNotServed, classifier.ModelError, UnknownLabel or preprocessing.ImageError."""
        from training.overlay import overlay_png

        with self._lock:
            explainer = self._explainer(path)
            labels = explainer.artifact.labels
            if label is not None and label not in labels:
                raise UnknownLabel(
                    f"the model has no class {label!r}; it knows {', '.join(labels)}"
                )
            padded = load_padded(image, size=explainer.artifact.input_size)
            found = explainer.cam.compute(
                to_array(padded), None if label is None else labels.index(label)
            )
        return overlay_png(padded, found.map), labels[found.class_index]

    def warm_up(self, path: Path) -> None:
        """Load a model and trace its map now, so the first person to ask doesn't wait for it."""
        blank = io.BytesIO()
        Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), "white").save(blank, format="PNG")
        self.make(path, blank.getvalue())

    def __len__(self) -> int:
        return len(self._explainers)

    def _explainer(self, path: Path) -> Explainer:
        path = _normal(path)
        if not any(path.is_relative_to(root) for root in self.roots):
            raise ModelNotServed(f"{path.name} is not a model petclf serves")
        artifact = open_artifact(path)
        key = (path, artifact.sha256)
        explainer = self._explainers.get(key)
        if explainer is None:
            explainer = self._load(artifact)
            self._explainers[key] = explainer
            while len(self._explainers) > self.size:
                self._explainers.popitem(last=False)
        self._explainers.move_to_end(key)
        return explainer

    @staticmethod
    def _load(artifact: ModelArtifact) -> Explainer:
        from training.export import load_h5
        from training.gradcam import GradCam

        log.info("loading %s for heat maps", artifact.path)
        return Explainer(artifact, GradCam(load_h5(artifact.path)))


def _normal(path: Path) -> Path:
    """Absolute, with no "..": symbolic links are kept (the deployed model is one)."""
    return Path(os.path.normpath(Path(path).absolute()))
