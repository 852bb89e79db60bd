"""The model card: the JSON file beside every `models/<name>.h5` that says how to use it.

Example (abridged; `None` values are allowed where noted in SCHEMA)::

    {
      "format": "petclf-model-card", "format_version": 1,
      "name": "pets", "created": "2026-11-21T17:00:00Z",
      "labels": ["bearded_dragon", "bird", "cat", "dog", "fish", "hamster"],   # output order
      "input_size": 240,                    # float32 RGB 240x240, values 0-255, white-padded
      "output": "logits",                   # or "probabilities"; see classifier.scoring
      "architecture": "mobilenet_v2",
      "backbone": {"name": "mobilenet_v2", "input_size": 160, "weights": "file:mobilenetv2_160_notop.weights.h5"},
      "unknown": {"method": "energy", "temperature": 1.0, "threshold": 7.31,
                  "target_reject_rate": 0.05, "in_class_reject_rate": 0.045,
                  "calibration_images": 110, "false_accept_rate": 0.08, "ood_images": 172,
                  "outlier_exposure_images": 172},
      "test_metrics": {"accuracy": 0.97, "images": 184,
                       "per_class": {"cat": {"precision": 0.97, "recall": 0.97, "f1": 0.97, "support": 35}},
                       "confusion_matrix": [[...]],          # rows: true label, columns: predicted
                       "in_class_reject_rate": 0.05},
      "data": {"source": "Test_train_sets", "split_seed": 1, "validation_seed": 1,
               "images": {"train": {"cat": 120}, "validation": {"cat": 21}, "test": {"cat": 36}}},
      "training": {"wall_time_seconds": 402.5, "epochs": 12, ...},
      "h5_sha256": "…", "h5_bytes": 10123456,
      "libraries": {"python": "3.11.2", "tensorflow": "2.20.0", "keras": "3.15.1", "numpy": "2.4.6"}
    }
"""

import contextlib
import hashlib
import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path

from classifier.errors import ModelError
from classifier.scoring import OUTPUT_KINDS, SCORE_METHODS
from preprocessing.dataset import write_atomically

CARD_FORMAT = "petclf-model-card"
# "classify": one label per photo (softmax). "tags": any number of labels (the tags), one
# sigmoid logit each, a photo has a tag when its probability reaches the tag's threshold in
# card["tags"]["thresholds"]; such a card has no "unknown" block.
TASKS = ("classify", "tags")
CARD_FORMAT_VERSION = 1
INPUT_SIZE = 240
LIBRARIES = ("tensorflow", "keras", "numpy", "pillow", "h5py", "petclf")

_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))
_OPTIONAL_DICT = (dict, type(None))

# Top-level keys and the JSON types they must have.
SCHEMA = {
    "format": str,
    "format_version": int,
    "name": str,
    "created": str,
    "labels": list,
    "input_size": int,
    "output": str,
    "architecture": str,
    "backbone": _OPTIONAL_DICT,  # None for architectures trained from scratch
    "unknown": dict,
    "test_metrics": _OPTIONAL_DICT,  # None when the data had no test side
    "data": dict,
    "training": dict,
    "h5_sha256": str,
    "h5_bytes": int,
    "libraries": dict,
}
UNKNOWN_SCHEMA = {
    "method": str,
    "temperature": _NUMBER,
    "threshold": _NUMBER,
    "target_reject_rate": _NUMBER,
    "in_class_reject_rate": _NUMBER,
    "calibration_images": int,
    "false_accept_rate": _OPTIONAL_NUMBER,  # None when trained without --ood
    "ood_images": int,  # how many held-out OOD photos the false-accept rate was measured on
    "outlier_exposure_images": int,  # how many OOD photos were used in training
}
METRICS_SCHEMA = {
    "accuracy": _NUMBER,
    "images": int,
    "per_class": dict,
    "confusion_matrix": list,
}
PER_CLASS_KEYS = ("precision", "recall", "f1", "support")
TAGS_CARD_SCHEMA = {
    **{key: types for key, types in SCHEMA.items() if key != "unknown"},
    "tags": dict,  # {"thresholds": {tag: probability}, ...}
}


class CardError(ModelError):
    """A model card is missing, unreadable, invalid, or doesn't fit its model."""


def card_path(model_path: str | os.PathLike) -> Path:
    """`models/pets.h5` → `models/pets.json`."""
    return Path(model_path).with_suffix(".json")


def read_card(path: str | os.PathLike) -> dict:
    """Read and validate a card; CardError names the file and the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CardError(
            f"the model card {path} is missing (it is written beside the .h5 by `petclf train`)"
        ) from None
    except OSError as exc:
        raise CardError(f"can't read the model card {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CardError(f"the model card {path} is not UTF-8 text") from None
    try:
        card = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(f"the model card {path} is not valid JSON ({exc})") from None
    try:
        return validate_card(card)
    except CardError as exc:
        raise CardError(f"the model card {path} is invalid: {exc}") from None


def validate_card(card) -> dict:
    """Check a card against SCHEMA and its internal consistency; return it unchanged."""
    if not isinstance(card, dict):
        raise CardError("the card must be a JSON object")
    task = card_task(card)
    if task not in TASKS:
        raise CardError(f'"task" must be one of {", ".join(TASKS)}, not {task!r}')
    _check_fields(card, SCHEMA if task == "classify" else TAGS_CARD_SCHEMA, "")
    if card["format"] != CARD_FORMAT:
        raise CardError(f'"format" must be "{CARD_FORMAT}", not {card["format"]!r}')
    if card["format_version"] > CARD_FORMAT_VERSION:
        raise CardError(
            f"card format version {card['format_version']} is newer than this petclf understands"
        )
    labels = card["labels"]
    if not labels or not all(isinstance(label, str) and label for label in labels):
        raise CardError('"labels" must be a non-empty list of names')
    if len(set(labels)) != len(labels) or "unknown" in labels:
        raise CardError('"labels" must be unique and must not include "unknown"')
    if card["input_size"] != INPUT_SIZE:
        raise CardError(f'"input_size" must be {INPUT_SIZE}, not {card["input_size"]}')
    if card["output"] not in OUTPUT_KINDS:
        raise CardError(
            f'"output" must be one of {", ".join(OUTPUT_KINDS)}, not {card["output"]!r}'
        )
    if task == "tags":
        _check_tags(card["tags"], labels)
    else:
        _check_unknown(card["unknown"])
        if card["test_metrics"] is not None:
            _check_metrics(card["test_metrics"], labels, "test_metrics")
    if len(card["h5_sha256"]) != 64:
        raise CardError('"h5_sha256" must be a sha256 hex digest')
    return card


def card_task(card: dict) -> str:
    """What the model does: "classify" (cards without a task) or "tags"."""
    return card.get("task", "classify")


def check_output_size(
    card: dict, output_size: int, model_path: str | os.PathLike = "the model"
) -> None:
    """The labels must name the model's outputs one for one."""
    if len(card["labels"]) != output_size:
        raise CardError(
            f"the card lists {len(card['labels'])} labels but {model_path} has {output_size} outputs; "
            "the card doesn't belong to this model"
        )


def check_sha256(card: dict, model_path: str | os.PathLike) -> str:
    """The card must describe exactly this .h5 file; returns the file's sha256."""
    actual = sha256_file(model_path)
    if actual != card["h5_sha256"]:
        raise CardError(
            f"{model_path} doesn't match its card (sha256 {actual[:12]}…, card says {card['h5_sha256'][:12]}…)"
        )
    return actual


def write_card(card: dict, path: str | os.PathLike) -> Path:
    """Validate, then write atomically: a crash never leaves a half-written card in place."""
    validate_card(card)
    path = Path(path)
    text = json.dumps(json_safe(card), indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return path


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict:
    """Versions of the libraries that shape the model file, without importing them."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "tensorflow" not in versions:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions["tensorflow"] = metadata.version("tensorflow-cpu")
    return versions


def _check_fields(mapping: dict, schema: dict, where: str) -> None:
    for key, types in schema.items():
        name = f"{where}{key}"
        if key not in mapping:
            raise CardError(f'"{name}" is missing')
        value = mapping[key]
        # bool is an int in Python, but never a valid number or count in a card
        if isinstance(value, bool) or not isinstance(value, types):
            raise CardError(f'"{name}" has the wrong type ({type(value).__name__})')


def _check_unknown(unknown: dict) -> None:
    _check_fields(unknown, UNKNOWN_SCHEMA, "unknown.")
    if unknown["method"] not in SCORE_METHODS:
        raise CardError(
            f'"unknown.method" must be one of {", ".join(SCORE_METHODS)}, not {unknown["method"]!r}'
        )
    if not unknown["temperature"] > 0:
        raise CardError('"unknown.temperature" must be positive')
    if not math.isfinite(unknown["threshold"]):
        raise CardError('"unknown.threshold" must be a finite number')
    for key in ("target_reject_rate", "in_class_reject_rate", "false_accept_rate"):
        value = unknown[key]
        if value is not None and not 0.0 <= value <= 1.0:
            raise CardError(f'"unknown.{key}" must be a rate between 0 and 1, not {value}')


def _check_tags(tags: dict, labels: list) -> None:
    thresholds = tags.get("thresholds")
    if not isinstance(thresholds, dict) or set(thresholds) != set(labels):
        raise CardError('"tags.thresholds" must give one threshold for every label')
    for tag, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, _NUMBER) or not 0.0 <= value <= 1.0:
            raise CardError(f'"tags.thresholds.{tag}" must be a probability between 0 and 1')


def _check_metrics(metrics: dict, labels: list, where: str) -> None:
    _check_fields(metrics, METRICS_SCHEMA, f"{where}.")
    if not 0.0 <= metrics["accuracy"] <= 1.0:
        raise CardError(f'"{where}.accuracy" must be between 0 and 1')
    for label, figures in metrics["per_class"].items():
        if label not in labels:
            raise CardError(f'"{where}.per_class" names {label!r}, which is not one of the labels')
        missing = [key for key in PER_CLASS_KEYS if key not in figures]
        if missing:
            raise CardError(f'"{where}.per_class.{label}" lacks {", ".join(missing)}')
    matrix = metrics["confusion_matrix"]
    if len(matrix) != len(labels) or any(len(row) != len(labels) for row in matrix):
        raise CardError(
            f'"{where}.confusion_matrix" must be {len(labels)}×{len(labels)}, one row and column per label'
        )


def json_safe(value):
    """JSON has no NaN/Infinity: undefined figures (e.g. precision of a never-predicted class) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
