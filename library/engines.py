"""The classifiers a library photo goes through, loaded once per process.

The pet model is the active one (PETCLF_MODEL, default models/pets.h5). The any-object ImageNet
model is `imagenet.h5` beside it, used when that file exists. A tags model (PETCLF_TAGS_MODEL,
`petclf train --task tags`) gives each photo its tags, when one is set.
"""

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from classifier import Engine, load_engine
from classifier.artifact import model_path

OBJECTS_MODEL_NAME = "imagenet.h5"

_engines: dict[tuple[str, int], Engine] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Models:
    pets: Engine
    objects: Engine | None = None
    tags: Engine | None = None


def default_objects_model(pets: Path) -> Path | None:
    candidate = Path(pets).with_name(OBJECTS_MODEL_NAME)
    return candidate if candidate.is_file() and candidate != Path(pets) else None


def load_models(
    pets: Path | None = None, objects: Path | None | bool = True, threads: int = 2
) -> Models:
    """The engines, cached per process. `objects`: a path, True for the default, False for none."""
    pets = model_path(pets)
    objects_path = default_objects_model(pets) if objects is True else (objects or None)
    tags_path = os.environ.get("PETCLF_TAGS_MODEL")
    return Models(
        pets=_engine(pets, threads),
        objects=_engine(Path(objects_path), threads) if objects_path else None,
        tags=_engine(Path(tags_path), threads, task="tags") if tags_path else None,
    )


def _engine(path: Path, threads: int, task: str = "classify") -> Engine:
    key = (str(Path(path).absolute()), threads)
    with _lock:  # loading takes seconds: two threads asking at once load it once
        if key not in _engines:
            _engines[key] = load_engine(path, threads=threads, task=task)
        return _engines[key]
