"""`petclf train --task tags`: a labels file (tags.csv) → a tagging `.h5` and its card.

The photos' pooled backbone features come from the feature cache (only photos it lacks are
decoded and run through the backbone). An MLP head (hidden layers configurable, none for a
linear head) with one sigmoid per tag trains on them with binary cross-entropy, stopping early
on a seeded validation part of the photos. Each tag's threshold is then the one that maximises
its F1 on that validation part; test photos are never seen here (`petclf evaluate` measures
them). The saved model is the backbone and the head in one: the padded image → one logit per tag.
"""

import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier.card import (
    CARD_FORMAT,
    CARD_FORMAT_VERSION,
    INPUT_SIZE,
    card_path,
    library_versions,
    sha256_file,
    write_card,
)
from classifier.tags import tag_probabilities
from training import data, recipes
from training.errors import DataError, TrainingError
from training.export import save_h5
from training.heads import predict
from training.tag_labels import TagLabels, read_tag_labels
from training.tag_metrics import tune_thresholds
from training.train import feature_cache

PATIENCE = 15  # epochs on cached features take a fraction of a second
HEAD_BATCH = 64


@dataclass
class TagsConfig:
    labels: Path  # tags.csv
    out: Path
    data: Path | None = None  # where the CSV's files are, when not beside it
    arch: str = recipes.DEFAULT
    backbone_weights: str = "imagenet"
    backbone_size: int | None = None  # None: the recipe's
    hidden: tuple[int, ...] = (1500,)  # the head's hidden layers; () for a linear head
    epochs: int = 200  # at most; early stopping on the validation loss
    batch_size: int = 32  # for the backbone
    learning_rate: float = 1e-3
    dropout: float = 0.3
    seed: int = 1
    validation_fraction: float = 0.15
    feature_cache: Path | None = None


def train_tags(config: TagsConfig, log=None) -> dict:
    """Train, tune the thresholds, save the .h5 and its card; return the card."""
    log = log or _log
    started = time.monotonic()
    recipe = recipes.get(config.arch)
    size = config.backbone_size or recipe.input_size
    _check_config(config, recipe)
    labels = read_tag_labels(config.labels, config.data)
    train_rows, val_rows = carve_validation(labels, config.validation_fraction, config.seed)
    log(
        f"{len(labels)} photos, {len(labels.tags)} tags; "
        f"{len(train_rows)} to train on, {len(val_rows)} to validate"
    )

    import keras

    keras.utils.set_random_seed(config.seed)
    built = recipes.build(
        config.arch,
        len(labels.tags),
        backbone_weights=config.backbone_weights,
        backbone_size=size,
        seed=config.seed,
    )
    cache = feature_cache(config.feature_cache, config.arch, size, built)
    feature_started = time.monotonic()
    vectors = cache.features(labels.paths, lambda missing: _compute(built, labels, missing, config))
    feature_seconds = time.monotonic() - feature_started
    log(
        f"backbone features: {cache.computed} computed, {cache.read} read from the cache "
        f"in {feature_seconds:.1f} s"
    )

    head_started = time.monotonic()
    head = tag_head(vectors.shape[1], len(labels.tags), config.hidden, config.dropout, config.seed)
    epochs_run = _fit(head, vectors, labels.targets, train_rows, val_rows, config)
    head_seconds = time.monotonic() - head_started
    val_probabilities = tag_probabilities(np.asarray(head(vectors[val_rows], training=False)))
    thresholds, val_f1 = tune_thresholds(labels.targets[val_rows], val_probabilities)
    log(f"head: {epochs_run} epochs in {head_seconds:.1f} s; thresholds tuned on validation")

    model = keras.Model(
        built.features.inputs, head(built.features.outputs[0]), name=f"{config.arch}_tagger"
    )
    save_h5(model, config.out)
    card = _card(config, size, built, labels, train_rows, val_rows, thresholds, val_f1)
    card["training"].update(
        {
            "epochs_run": epochs_run,
            "feature_cache": cache.stats(),
            "feature_seconds": round(feature_seconds, 2),
            "head_seconds": round(head_seconds, 2),
            "wall_time_seconds": round(time.monotonic() - started, 1),
        }
    )
    card["h5_sha256"], card["h5_bytes"] = sha256_file(config.out), config.out.stat().st_size
    write_card(card, card_path(config.out))
    log(f"saved {config.out} and {card_path(config.out)}")
    return card


def carve_validation(labels: TagLabels, fraction: float, seed: int) -> tuple[list, list]:
    """Seeded (train rows, validation rows): about `fraction` of the photos validate, and every
    tag keeps at least one training photo."""
    if not 0 < fraction < 1:
        raise DataError(f"the validation fraction must be between 0 and 1, got {fraction:g}")
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    wanted = max(1, round(fraction * len(labels)))
    left_in_train = labels.targets.sum(axis=0)
    validation = []
    for row in order:
        has = labels.targets[row] > 0
        if len(validation) < wanted and (left_in_train[has] > 1).all():
            validation.append(row)
            left_in_train -= labels.targets[row]
    train = sorted(set(order) - set(validation))
    return train, sorted(validation)


def tag_head(features: int, tags: int, hidden: tuple[int, ...], dropout: float, seed: int):
    """Pooled features → one logit per tag, through the hidden ReLU layers."""
    import keras
    from keras import layers

    stack = [keras.Input(shape=(features,))]
    for index, units in enumerate(hidden):
        stack += [
            layers.Dropout(dropout, seed=seed + index),
            layers.Dense(units, activation="relu"),
        ]
    stack += [layers.Dropout(dropout, seed=seed + len(hidden)), layers.Dense(tags)]
    return keras.Sequential(stack, name="tags_head")


def _fit(head, vectors, targets, train_rows, val_rows, config: TagsConfig) -> int:
    import keras

    head.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    result = head.fit(
        data.make_dataset(
            vectors[train_rows],
            targets[train_rows],
            batch_size=HEAD_BATCH,
            shuffle=True,
            seed=config.seed,
        ),
        validation_data=data.make_dataset(
            vectors[val_rows], targets[val_rows], batch_size=256, shuffle=False, seed=config.seed
        ),
        epochs=config.epochs,
        shuffle=False,  # the dataset shuffles itself
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=PATIENCE, restore_best_weights=True
            )
        ],
        verbose=0,
    )
    return len(result.history["loss"])


def _compute(built, labels: TagLabels, missing: list[int], config: TagsConfig) -> np.ndarray:
    """Decode the photos the cache lacks and run them through the backbone."""
    examples = [data.Example(labels.paths[index], 0) for index in missing]
    images = data.load_images(examples, "backbone features")
    if images.skipped:
        path, problem = images.skipped[0]
        raise DataError(f"{config.labels} lists {path}, which is not a usable image: {problem}")
    return predict(built.features, images.pixels, config.batch_size)


def _card(config, size, built, labels, train_rows, val_rows, thresholds, val_f1) -> dict:
    per_tag = labels.targets.sum(axis=0)
    return {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "task": "tags",
        "name": config.out.stem,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": labels.tags,
        "input_size": INPUT_SIZE,
        "output": "logits",  # one sigmoid logit per tag: see classifier.tags
        "architecture": config.arch,
        "backbone": {"name": config.arch, "input_size": size, "weights": built.weights_source},
        "tags": {
            "thresholds": {tag: round(float(t), 6) for tag, t in zip(labels.tags, thresholds)},
            "tuned_on": "validation",
            "validation_f1": dict(zip(labels.tags, val_f1)),
            "photos": {tag: int(count) for tag, count in zip(labels.tags, per_tag)},
        },
        "test_metrics": None,  # `petclf evaluate --labels` measures test photos
        "data": {
            "labels_file": config.labels.name,
            "photos": len(labels),
            "train": len(train_rows),
            "validation": len(val_rows),
            "validation_seed": config.seed,
            "validation_fraction": config.validation_fraction,
            "validation_files": [labels.names[row] for row in val_rows],
        },
        "training": {
            "hidden": list(config.hidden),
            "dropout": config.dropout,
            "max_epochs": config.epochs,
            "learning_rate": config.learning_rate,
            "loss": "binary cross-entropy",
            "seed": config.seed,
        },
        "h5_sha256": "0" * 64,  # set once the file is written
        "h5_bytes": 0,
        "libraries": library_versions(),
    }


def _check_config(config: TagsConfig, recipe: recipes.Recipe) -> None:
    if not recipe.transfer:
        transfer = ", ".join(name for name, other in recipes.RECIPES.items() if other.transfer)
        raise TrainingError(
            f"--task tags trains on a pretrained backbone's features; {config.arch} has none "
            f"(use one of {transfer})"
        )
    if any(units < 1 for units in config.hidden):
        raise TrainingError("--hidden layer sizes must be at least 1")
    if config.epochs < 1 or config.batch_size < 1:
        raise TrainingError("--head-epochs and --batch-size must be at least 1")
    if not 0 <= config.dropout < 1:
        raise TrainingError("the dropout must be in [0, 1)")
    if config.out.suffix != ".h5":
        raise TrainingError(f"the model file must end in .h5: {config.out}")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
