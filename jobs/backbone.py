"""The pretrained backbone projects train on: the one inside the shipped model, so training works
on a fresh clone with no download and no extra weights file.

Its weights are saved once per shipped model (keyed by the .h5's sha256) under
PETCLF_HOME/backbones/ and handed to training like any backbone weights file.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from classifier.artifact import model_path, open_artifact
from jobs.errors import JobError


@dataclass(frozen=True)
class Backbone:
    architecture: str
    input_size: int
    weights: Path


def shipped_backbone(cache: Path) -> Backbone:
    """The backbone of the model the servers ship (PETCLF_MODEL, default models/pets.h5)."""
    artifact = open_artifact(model_path())
    summary = artifact.card.get("backbone")
    if not summary:
        raise JobError(
            f"the shipped model {artifact.path} ({artifact.card['architecture']}) has no pretrained backbone "
            "to train projects on; set PETCLF_MODEL to a transfer-learning model such as models/pets.h5"
        )
    architecture = artifact.card["architecture"]
    weights = cache / f"{architecture}-{summary['input_size']}-{artifact.sha256[:16]}.weights.h5"
    if not weights.is_file():
        save_backbone_weights(artifact.path, weights)
    return Backbone(architecture, int(summary["input_size"]), weights)


def save_backbone_weights(h5: Path, target: Path) -> None:
    """Save the backbone nested in a trained model of a registry architecture as a weights file."""
    from training.export import load_h5
    from training.recipes import backbone_layer

    backbone = backbone_layer(load_h5(h5), open_artifact(h5).card["architecture"])
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keras wants the .weights.h5 ending
    partial = target.with_name(f".{os.getpid()}-{target.name}")
    backbone.save_weights(partial)
    os.replace(partial, target)
