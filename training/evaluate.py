"""`petclf evaluate`: a model and its card against a split's test side or raw photo folders.

It predicts through the engine that serves the model (the fast runtime), so its figures are the
served model's.
"""

import sys
from pathlib import Path

import numpy as np

from classifier import load_engine
from preprocessing.dataset import class_listing
from training import data, report
from training.errors import DataError


def resolve_test_side(folder: Path) -> Path:
    """A split folder (train/ and test/) means its test side; anything else is used as given."""
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder / "test"
    return folder


def evaluate(
    model_path: Path, data_dir: Path, ood: Path | None = None, batch_size: int = 32, log=None
) -> dict:
    """The figures of `evaluate --json`: accuracy, per_class, confusion_matrix, labels and,
    with `ood`, false_accept_rate and in_class_reject_rate at the card's threshold."""
    log = log or _log
    engine = load_engine(model_path, threads=1)
    card = engine.card
    labels = card["labels"]
    folder = resolve_test_side(data_dir)
    examples = _class_examples(folder, labels)
    images = data.load_images(examples, "evaluating", workers=4)
    if images.skipped:
        path, problem = images.skipped[0]
        log(
            f"warning: skipped {len(images.skipped)} file(s) that are not usable images, e.g. {path}: {problem}"
        )
    if not len(images):
        raise DataError(f"no usable images in {folder}")

    probs, scores = _scored(engine, images, batch_size)
    figures = report.classification_figures(images.labels, probs.argmax(axis=1), labels)
    result = {
        "accuracy": figures["accuracy"],
        "per_class": figures["per_class"],
        "confusion_matrix": figures["confusion_matrix"],
        "labels": labels,
    }
    if ood is not None:
        ood_images = _heldout_ood(ood, card, log)
        _, ood_scores = _scored(engine, ood_images, batch_size)
        result.update(report.unknown_figures(scores, ood_scores, card["unknown"]["threshold"]))
    result["images"] = len(images)
    return result


def _scored(engine, images: data.Images, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, confidence scores) of every image, a batch at a time (the pixels stay uint8 until then)."""
    batches = [
        engine.score_arrays(images.pixels[start : start + batch_size])
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate([probs for probs, _, _ in batches]), np.concatenate(
        [scores for _, scores, _ in batches]
    )


def _class_examples(folder: Path, labels: list[str]) -> list[data.Example]:
    """Every file of each class folder, labelled by its index in the model's labels."""
    examples = []
    for class_folder, files in class_listing(folder):
        if class_folder.name not in labels:
            raise DataError(
                f"the class folder {class_folder} is not one of the model's labels ({', '.join(labels)})"
            )
        examples += [data.Example(path, labels.index(class_folder.name)) for path in files]
    return examples


def _heldout_ood(ood: Path, card: dict, log) -> data.Images:
    """OOD photos, minus those that may have been used for outlier exposure in training."""
    fraction = card["training"].get("outlier_exposure_fraction", 0.0)
    every = data.ood_examples(ood)
    examples = [e for e in every if data.ood_part(e.path, fraction) == "heldout"]
    if len(every) > len(examples):
        log(
            f"left out {len(every) - len(examples)} OOD photos that training may have used for outlier exposure"
        )
    images = data.load_images(examples, "OOD photos")
    if not len(images):
        raise DataError(f"no usable held-out images in {ood}")
    return images


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
