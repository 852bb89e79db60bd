"""`petclf train`: a split folder → a self-contained `.h5`, its model card, history and plots.

What each architecture is, and its defaults, comes from training.recipes. A transfer recipe
(a pretrained backbone) trains in two phases: (1) the head on cached features of the frozen
backbone, which takes seconds; (2) the top of the backbone fine-tuned at a low learning rate
with augmentation (skipped with `--epochs 0`). With `--heads K` (and no fine-tuning) phase 1
cross-fits K heads instead, see training.heads. The other recipes train in one phase from scratch.

With `--ood`, part of the out-of-distribution photos (chosen by content hash) is used for
outlier exposure: they are trained towards the uniform distribution over the classes, which
teaches the model to be unsure on non-pets (or, with `--ood-as-class`, they are one more class,
which the saved model folds away: see models.fold_outlier_class). The rest is held out to
measure the false-accept rate. The unknown threshold is chosen on in-class images the model did
not train on: the validation carve-out, or with cross-fitted heads every training image's
out-of-fold logits.
"""

import csv
import dataclasses
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier import scoring
from classifier.card import (
    CARD_FORMAT,
    CARD_FORMAT_VERSION,
    INPUT_SIZE,
    card_path,
    library_versions,
    sha256_file,
    write_card,
)
from training import data, features, heads, models, plots, recipes, report
from training.distribute import STRATEGIES, make_strategy
from training.errors import DataError, TrainingError
from training.export import save_h5
from training.heads import compile_model, even_for_replicas, fit_head, predict

# The model outputs logits; probabilities and confidence come from classifier.scoring.
OUTPUT_KIND = "logits"
# Fine-tuning uses this fraction of the recipe's learning rate.
FINE_TUNE_DIVISOR = 20


@dataclass
class TrainConfig:
    data: Path
    out: Path
    arch: str = recipes.DEFAULT  # a name in training.recipes
    backbone_weights: str = "imagenet"  # "imagenet", "none" or a path to a weights file
    backbone_size: int | None = None  # None: the recipe's input size
    # transfer recipes: fine-tuning epochs (0: head only); others: all epochs. None: the recipe's
    epochs: int | None = None
    head_epochs: int = 80  # phase 1 of transfer recipes, on cached features
    heads: int = 1  # transfer recipes without fine-tuning: cross-fitted heads (see training.heads)
    head: str = "mlp"  # cross-fitted heads' kind: "mlp" or "linear" (see training.heads)
    mirror: bool = False  # cross-fitted heads also train on the mirrored photos' features
    batch_size: int = 32
    learning_rate: float | None = None  # None: the recipe's
    seed: int = 1
    validation_fraction: float = 0.15
    patience: int = 3
    ood: Path | None = None
    ood_exposure_fraction: float = 0.5  # of the --ood photos used in training; the rest measure
    ood_weight: float = 1.0  # loss weight of an OOD photo relative to an average class photo
    # OOD photos as one more class instead of uniform targets (folded away on saving)
    ood_as_class: bool = False
    score_method: str = "energy"
    temperature: float = 1.0
    # On validation; below the 5% product target because validation (small, and used for early
    # stopping) looks more confident than new photos: 5% there became 7-13% on test photos.
    max_reject_rate: float = 0.03
    resume: bool = False
    strategy: str = "default"
    feature_cache: Path | None = None  # where pooled backbone features are kept; None: nowhere
    # train photos to calibrate an int8 runtime on (and as many others to check it); 0: float only
    int8_photos: int = 0
    verbose: int = 2  # Keras fit verbosity: 2 prints one line per epoch


@dataclass
class Prepared:
    labels: list[str]
    train: data.Images
    validation: data.Images
    test: data.Images | None
    ood_exposure: data.Images | None  # trained towards uniform outputs
    ood_validation: data.Images | None  # checks that during training
    ood_heldout: data.Images | None  # measures the false-accept rate


def train(config: TrainConfig, log=None, progress=None) -> dict:
    """Train, calibrate, evaluate and save; return the model card.

    `log(message)` receives progress lines (default: stderr). `progress(phase, step, total, metrics)`,
    if given, is called as work advances: ("loading", images loaded, images to load, {}), once per
    epoch ("head", "head k/K", "fine-tune" or "train"; epoch, maximum epochs, that epoch's loss,
    accuracy, val_loss and val_accuracy), then ("evaluating", 0, 1, {}) and ("saving", 0, 1, {}).
    """
    log = log or _log
    config = _with_defaults(config)
    _check_config(config)
    started = time.monotonic()
    train_dir, _ = data.split_sides(config.data)
    labels = [folder.name for folder in data.class_folders(train_dir)]
    checkpoint_dir = _checkpoint_dir(config)

    import keras

    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    # The model (and its backbone weights) first: a bad weights file fails before the data loads.
    with strategy.scope():
        built = recipes.build(
            config.arch,
            len(labels) + config.ood_as_class,
            backbone_weights=config.backbone_weights,
            backbone_size=config.backbone_size,
            seed=config.seed,
        )
    prepared = prepare_data(config, labels, log, progress)
    class_weights = data.class_weights(prepared.train.labels, len(labels))
    cache = feature_cache(config.feature_cache, config.arch, config.backbone_size, built)
    if config.heads > 1:
        log(f"phase 1: cross-fitting {config.heads} heads on cached {config.arch} features")
        class_arrays = _weighted_arrays(config, prepared.train, None, class_weights)
        ood_arrays = (
            _weighted_arrays(config, prepared.ood_exposure, None, class_weights)
            if config.ood
            else None
        )
        fitted = heads.cross_fit(
            (pooled_features(cache, built, config.batch_size, prepared.train), *class_arrays[1:]),
            (
                pooled_features(cache, built, config.batch_size, prepared.ood_exposure),
                *ood_arrays[1:],
            )
            if ood_arrays is not None
            else None,
            heads=config.heads,
            epochs=config.head_epochs,
            learning_rate=config.learning_rate,
            seed=config.seed,
            head=config.head,
            mirrored=pooled_features(cache, built, config.batch_size, prepared.train, mirrored=True)
            if config.mirror
            else None,
            strategy=strategy,
            log=log,
            progress=progress,
        )
        # Each head folded before they are averaged: the average of log-probabilities, as calibrated.
        model = models.ensemble(built, [_folded(config, head) for head in fitted.served])
        history, fine_tune_kept = fitted.history, None
        calibration_logits, ood_check_logits = (
            _folded(config, fitted.class_logits),
            _folded(config, fitted.ood_logits),
        )
    else:
        history, fine_tune_kept = _fit(
            config, built, cache, prepared, class_weights, strategy, checkpoint_dir, log, progress
        )
        model = _folded(config, built.model)
        calibration_logits = predict(model, prepared.validation, config.batch_size)
        ood_check_logits = (
            predict(model, prepared.ood_validation, config.batch_size) if config.ood else None
        )

    if cache is not None:
        log(f"backbone features: {cache.computed} computed, {cache.read} read from the cache")
    log("calibrating the unknown threshold and evaluating")
    _report(progress, "evaluating")
    unknown = _calibrate(config, model, prepared, calibration_logits, ood_check_logits)
    test_metrics = _test_metrics(config, model, prepared, unknown["threshold"])

    _report(progress, "saving")
    save_h5(model, config.out)
    wall_time = time.monotonic() - started
    card = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "name": config.out.stem,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": labels,
        "input_size": INPUT_SIZE,
        "output": OUTPUT_KIND,
        "architecture": config.arch,
        "backbone": _backbone_summary(config, built),
        "unknown": unknown,
        "test_metrics": test_metrics,
        "data": _data_summary(config, prepared),
        "training": {
            "wall_time_seconds": round(wall_time, 1),
            "epochs_run": sum(1 for row in history if not row["phase"].startswith("head")),
            "head_epochs_run": sum(1 for row in history if row["phase"].startswith("head")),
            "heads": config.heads,
            "head": config.head if config.heads > 1 else "mlp",
            "mirrored_rows": config.mirror,
            "fine_tune_kept": fine_tune_kept,  # None: no fine-tuning phase
            "max_epochs": config.epochs,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "seed": config.seed,
            "strategy": config.strategy,
            "replicas": int(strategy.num_replicas_in_sync),
            "feature_cache": cache.stats() if cache is not None else None,
            "class_weights": dict(zip(labels, _round_all(class_weights))),
            "outlier_exposure_fraction": config.ood_exposure_fraction if config.ood else 0.0,
            "outlier_exposure_weight": config.ood_weight,
            "outlier_class": config.ood_as_class,
            "augmentation": [
                "horizontal flip",
                "rotation ±18°",
                "zoom -15%..+10%",
                "contrast ±15%",
            ],
        },
        "h5_sha256": sha256_file(config.out),
        "h5_bytes": config.out.stat().st_size,
        "libraries": library_versions(),
    }
    write_card(card, card_path(config.out))
    _write_outputs(config.out, history, test_metrics, labels)
    if config.int8_photos:
        _report(progress, "quantizing")
        _build_int8_runtime(config, prepared, log)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    log(
        f"saved {config.out} ({card['h5_bytes'] / 1e6:.1f} MB) and {card_path(config.out)} in {wall_time:.0f} s"
    )
    return card


def _build_int8_runtime(config: TrainConfig, prepared: Prepared, log) -> None:
    """The served runtime in int8 when it answers as the model does (classifier.export), else
    float: calibrated on --int8-photos train photos and checked on as many others."""
    from classifier.artifact import open_artifact
    from classifier.export import Int8Photos
    from classifier.runtime import build_runtime

    count = config.int8_photos
    train = prepared.train.pixels[
        np.random.RandomState(config.seed).permutation(len(prepared.train))
    ]
    photos = Int8Photos(calibration=train[:count], check=train[count : 2 * count])
    log(
        f"int8 runtime: calibrating on {len(photos.calibration)} train photos, checking on {len(photos.check)}"
    )
    meta = build_runtime(open_artifact(config.out), photos)
    result = meta.get("int8", {})
    if meta.get("precision") == "int8":
        log(f"int8 runtime kept: it answers as the model on {result['answer_agreement']:.1%}")
    else:
        log(
            f"int8 runtime not kept ({result.get('reason', 'no int8 conversion')}); serving in float"
        )


def _folded(config: TrainConfig, model_or_logits):
    """With --ood-as-class, a model (or its logits) with the outlier class folded away; else as given."""
    if not config.ood_as_class or model_or_logits is None:
        return model_or_logits
    if isinstance(model_or_logits, np.ndarray):
        return models.folded_logits(model_or_logits, model_or_logits.shape[1] - 1)
    return models.fold_outlier_class(model_or_logits, int(model_or_logits.outputs[0].shape[-1]) - 1)


def _calibrate(
    config: TrainConfig, model, prepared: Prepared, calibration_logits, ood_check_logits
) -> dict:
    """The card's `unknown` block: the threshold from in-class logits the model did not train on
    (validation, or out-of-fold), the false-accept rate on held-out OOD photos."""
    val_scores = _scores(config, calibration_logits)
    threshold = scoring.threshold_for_reject_rate(val_scores, config.max_reject_rate)
    unknown = {
        "method": config.score_method,
        "temperature": config.temperature,
        "threshold": float(threshold),
        "target_reject_rate": config.max_reject_rate,
        "in_class_reject_rate": round(scoring.rejected_fraction(val_scores, threshold), 4),
        "calibration": "out-of-fold" if config.heads > 1 else "validation",
        "calibration_images": len(calibration_logits),
        "false_accept_rate": None,
        "ood_images": 0,
        "outlier_exposure_images": len(prepared.ood_exposure) + len(prepared.ood_validation)
        if config.ood
        else 0,
    }
    if ood_check_logits is not None and len(ood_check_logits):
        # Not trained on, only watched by early stopping: a fair check when comparing settings.
        val_ood_scores = _scores(config, ood_check_logits)
        unknown["validation_false_accept_rate"] = round(
            scoring.accepted_fraction(val_ood_scores, threshold), 4
        )
    if prepared.ood_heldout is not None and len(prepared.ood_heldout):
        ood_logits = predict(model, prepared.ood_heldout, config.batch_size)
        ood_scores = _scores(config, ood_logits)
        unknown["false_accept_rate"] = round(scoring.accepted_fraction(ood_scores, threshold), 4)
        unknown["ood_images"] = len(prepared.ood_heldout)
        unknown["methods_compared"] = report.compare_scores(
            calibration_logits, ood_logits, config.max_reject_rate
        )
    return unknown


def _scores(config: TrainConfig, logits: np.ndarray) -> np.ndarray:
    """The configured confidence score of each image."""
    return scoring.confidence(logits, config.score_method, config.temperature, OUTPUT_KIND)


def _test_metrics(config: TrainConfig, model, prepared: Prepared, threshold: float) -> dict | None:
    if prepared.test is None:
        return None
    logits = predict(model, prepared.test, config.batch_size)
    metrics = report.classification_figures(
        prepared.test.labels, logits.argmax(axis=1), prepared.labels
    )
    scores = _scores(config, logits)
    metrics["in_class_reject_rate"] = round(scoring.rejected_fraction(scores, threshold), 4)
    return metrics


def prepare_data(config: TrainConfig, labels: list[str], log, progress=None) -> Prepared:
    train_dir, test_dir = data.split_sides(config.data)
    examples = data.labelled_examples(train_dir, labels)
    if config.heads > 1:  # cross-fitting: every fold is some head's validation
        train_examples, val_examples = examples, []
    else:
        train_examples, val_examples = data.carve_validation(
            examples, config.validation_fraction, config.seed
        )

    test_examples = None
    if test_dir is None:
        log(f"warning: {config.data} has no test/ side; the card will have no test metrics")
    else:
        unknown_classes = sorted(
            p.name
            for p in test_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name not in labels
        )
        if unknown_classes:
            raise DataError(
                f"{test_dir} has a class folder that train/ lacks: {unknown_classes[0]}"
            )
        test_examples = data.labelled_examples(test_dir, labels)

    ood_parts = {"exposure": [], "validation": [], "heldout": []}
    if config.ood:
        for example in data.ood_examples(config.ood):
            part = data.ood_part(example.path, config.ood_exposure_fraction)
            # Cross-fitted heads stop early on their own fold of the exposure photos.
            ood_parts["exposure" if config.heads > 1 and part == "validation" else part].append(
                example
            )

    to_load = (
        len(train_examples)
        + len(val_examples)
        + len(test_examples or [])
        + sum(map(len, ood_parts.values()))
    )
    loaded_before = 0

    def load(examples: list, description: str) -> data.Images:
        nonlocal loaded_before
        on_loaded = (
            None
            if progress is None
            else lambda count: progress("loading", loaded_before + count, to_load, {})
        )
        images = data.load_images(examples, description, on_loaded=on_loaded)
        loaded_before += len(examples)
        return images

    prepared = Prepared(
        labels=labels,
        train=load(train_examples, "train images"),
        validation=load(val_examples, "validation images"),
        test=load(test_examples, "test images") if test_examples is not None else None,
        ood_exposure=load(ood_parts["exposure"], "OOD photos (exposure)") if config.ood else None,
        ood_validation=load(ood_parts["validation"], "OOD photos (validation)")
        if config.ood
        else None,
        ood_heldout=load(ood_parts["heldout"], "OOD photos (held out)") if config.ood else None,
    )
    for name in ("train", "validation", "test", "ood_exposure", "ood_validation", "ood_heldout"):
        images = getattr(prepared, name)
        if images is not None and images.skipped:
            path, problem = images.skipped[0]
            log(
                f"warning: skipped {len(images.skipped)} unusable {name} file(s), e.g. {path}: {problem}"
            )
    for index, label in enumerate(labels):
        for name in ("train", "validation") if config.heads == 1 else ("train",):
            if not (getattr(prepared, name).labels == index).any():
                raise DataError(
                    f"the class {label} has no usable {name} images in {train_dir / label}"
                )
        if (prepared.train.labels == index).sum() < config.heads:
            raise DataError(
                f"--heads {config.heads} needs at least {config.heads} train images per class; {label} has fewer"
            )
    log(
        f"{len(labels)} classes; {len(prepared.train)} train, {len(prepared.validation)} validation, "
        f"{len(prepared.test) if prepared.test else 0} test images"
        + (
            f"; OOD: {len(prepared.ood_exposure)} for exposure, {len(prepared.ood_validation)} to check it, "
            f"{len(prepared.ood_heldout)} held out"
            if config.ood
            else ""
        )
    )
    return prepared


def _fit(
    config, built, cache, prepared, class_weights, strategy, checkpoint_dir: Path, log, progress
) -> tuple[list[dict], bool | None]:
    """Run the training phases; return one history row per epoch, and whether fine-tuning was kept."""
    import keras

    pixels, targets, weights = _weighted_arrays(
        config, prepared.train, prepared.ood_exposure, class_weights
    )
    # Validation checks both goals: right classes on class photos, flat outputs on OOD photos.
    replicas = strategy.num_replicas_in_sync
    val_pixels, val_targets, val_weights = even_for_replicas(
        _weighted_arrays(config, prepared.validation, prepared.ood_validation, class_weights),
        replicas,
    )
    history: list[dict] = []

    if built.head is not None:
        log(f"phase 1: training the head on cached {config.arch} features")
        with strategy.scope():
            compile_model(built.head, config.learning_rate)
        train_features = pooled_features(
            cache, built, config.batch_size, prepared.train, prepared.ood_exposure
        )
        (val_features,) = even_for_replicas(
            (
                pooled_features(
                    cache, built, config.batch_size, prepared.validation, prepared.ood_validation
                ),
            ),
            replicas,
        )
        history += fit_head(
            built.head,
            (train_features, targets, weights),
            (val_features, val_targets, val_weights),
            epochs=config.head_epochs,
            seed=config.seed,
            replicas=replicas,
            phase="head",
            progress=progress,
        )
        best = history[int(np.argmin([row["val_loss"] for row in history]))]
        log(f"phase 1: {len(history)} epochs, best validation accuracy {best['val_accuracy']:.3f}")
        if config.epochs == 0:
            return history, None
        head_weights, head_loss = built.model.get_weights(), best["val_loss"]
        unfrozen = models.fine_tune_top(built, recipes.get(config.arch).fine_tune_from)
        log(f"phase 2: fine-tuning {unfrozen} backbone layers")
        learning_rate = config.learning_rate / FINE_TUNE_DIVISOR
    else:
        learning_rate = config.learning_rate

    with strategy.scope():
        compile_model(built.model, learning_rate)
    phase = "fine-tune" if built.head is not None else "train"
    callbacks = [
        # The log row first: an interruption between the two then repeats an epoch, never loses one.
        keras.callbacks.CSVLogger(str(checkpoint_dir / "history.csv"), append=True),
        keras.callbacks.BackupAndRestore(
            str(checkpoint_dir), double_checkpoint=True, delete_checkpoint=False
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        *heads.epoch_progress(progress, phase, config.epochs),
    ]
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    built.model.fit(
        data.make_dataset(
            pixels,
            targets,
            weights,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
            drop_remainder=replicas > 1,
        ),
        validation_data=data.make_dataset(
            val_pixels,
            val_targets,
            val_weights,
            batch_size=config.batch_size,
            shuffle=False,
            seed=config.seed,
        ),
        epochs=config.epochs,
        shuffle=False,  # the dataset shuffles itself
        callbacks=callbacks,
        verbose=config.verbose,
    )
    # The CSV log survives an interruption, so a resumed run still has its whole history.
    with (checkpoint_dir / "history.csv").open(newline="") as handle:
        # A repeated epoch (see above) keeps its last row.
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle)}
    fitted = [
        {
            "phase": phase,
            **{key: float(value) for key, value in rows[epoch].items() if key != "epoch"},
        }
        for epoch in sorted(rows)
    ]
    history += fitted
    if built.head is None:
        return history, None
    # Validation decides whether fine-tuning helped; if not, the phase-1 model is the better one.
    tuned_loss = min(row["val_loss"] for row in fitted)
    if tuned_loss >= head_loss:
        built.model.set_weights(head_weights)
        log(
            f"phase 2 did not improve the validation loss ({tuned_loss:.4f} vs {head_loss:.4f}); keeping the phase-1 model"
        )
        return history, False
    return history, True


def feature_cache(
    root: Path | None, arch: str, size: int, built: models.Built
) -> features.FeatureCache | None:
    """The cache of this backbone's pooled features (None for architectures without one)."""
    if built.features is None:
        return None
    return features.FeatureCache(
        root,
        features.backbone_identity(arch, built.backbone),
        size,
        int(built.features.outputs[0].shape[-1]),
    )


def pooled_features(
    cache: features.FeatureCache,
    built: models.Built,
    batch_size: int,
    *parts: data.Images | None,
    mirrored: bool = False,
) -> np.ndarray:
    """The pooled backbone features of the parts' photos, in order, through the feature cache
    (the parts _weighted_arrays puts together: absent or empty ones are left out). `mirrored`:
    of the photos flipped left to right instead, cached beside their own."""
    parts = [part for part in parts if part is not None and len(part)]
    if not parts:
        return np.zeros((0, cache.dim), np.float32)
    pixels = np.concatenate([part.pixels for part in parts])

    def compute(missing: list[int]) -> np.ndarray:
        chosen = pixels[missing]
        if mirrored:
            chosen = np.ascontiguousarray(chosen[:, :, ::-1])
        return predict(built.features, chosen, batch_size)

    return cache.features(
        [path for part in parts for path in part.paths],
        compute,
        variant="mirrored" if mirrored else "",
    )


def _weighted_arrays(
    config, class_images: data.Images, ood_images: data.Images | None, class_weights
) -> tuple:
    """(pixels, targets, weights): class photos one-hot with class weights, OOD photos uniform."""
    parts = [class_images] + ([ood_images] if ood_images is not None and len(ood_images) else [])
    pixels = np.concatenate([part.pixels for part in parts])
    labels = np.concatenate([part.labels for part in parts])
    return (
        pixels,
        data.soft_targets(labels, len(class_weights), outlier_class=config.ood_as_class),
        data.sample_weights(labels, class_weights, config.ood_weight),
    )


def _write_outputs(
    out: Path, history: list[dict], test_metrics: dict | None, labels: list[str]
) -> None:
    stem = out.with_suffix("")
    columns = ["epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy"]
    with open(f"{stem}.history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for epoch, row in enumerate(history, start=1):
            writer.writerow(
                {
                    "epoch": epoch,
                    **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()},
                }
            )
    plots.plot_curves(
        history, Path(f"{stem}.curves.png"), f"{out.name}: loss and accuracy per epoch"
    )
    if test_metrics is not None:
        plots.plot_confusion_matrix(
            test_metrics["confusion_matrix"],
            labels,
            Path(f"{stem}.confusion_matrix.png"),
            f"{out.name}: test confusion matrix",
        )


def _checkpoint_dir(config: TrainConfig) -> Path:
    directory = config.out.with_suffix(".checkpoint")
    if config.resume:
        if not (directory / "latest.weights.h5").is_file():
            raise TrainingError(
                f"nothing to resume: no checkpoint at {directory} (start without --resume)"
            )
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return directory


def _backbone_summary(config: TrainConfig, built) -> dict | None:
    if built.backbone is None:
        return None
    return {
        "name": config.arch,
        "input_size": config.backbone_size,
        "weights": built.weights_source,
    }


def _data_summary(config: TrainConfig, prepared: Prepared) -> dict:
    labels = prepared.labels
    images = {
        "train": data.count_per_class(prepared.train.labels, labels),
        "validation": data.count_per_class(prepared.validation.labels, labels),
    }
    if prepared.test is not None:
        images["test"] = data.count_per_class(prepared.test.labels, labels)
    summary = {
        "source": config.data.name,
        "split_seed": data.split_seed(config.data),
        "validation_seed": config.seed,
        "validation_fraction": config.validation_fraction if config.heads == 1 else 0.0,
        "cross_fitting_folds": config.heads if config.heads > 1 else None,
        "images": images,
        "skipped_files": sum(
            len(part.skipped)
            for part in (prepared.train, prepared.validation, prepared.test)
            if part is not None
        ),
    }
    if config.ood:
        summary["ood"] = {
            "source": config.ood.name,
            "exposure_images": len(prepared.ood_exposure),
            "exposure_validation_images": len(prepared.ood_validation),
            "heldout_images": len(prepared.ood_heldout),
        }
    return summary


def _with_defaults(config: TrainConfig) -> TrainConfig:
    """The config with the recipe's defaults in place of None."""
    recipe = recipes.get(config.arch)
    defaults = {
        "backbone_size": recipe.input_size,
        "epochs": recipe.epochs,
        "learning_rate": recipe.learning_rate,
    }
    return dataclasses.replace(
        config, **{key: value for key, value in defaults.items() if getattr(config, key) is None}
    )


def _check_config(config: TrainConfig) -> None:
    recipe = recipes.get(config.arch)
    if config.strategy not in STRATEGIES:
        raise TrainingError(
            f"unknown strategy {config.strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    if config.score_method not in scoring.SCORE_METHODS:
        raise TrainingError(
            f"unknown score {config.score_method!r}; choose one of {', '.join(scoring.SCORE_METHODS)}"
        )
    if config.int8_photos < 0:
        raise TrainingError("--int8-photos must be 0 (float only) or more")
    if config.strategy != "default" and config.batch_size % 2:
        raise TrainingError(
            "with --strategy mirrored, the batch size must be even (split over devices)"
        )
    if config.heads < 1:
        raise TrainingError("--heads must be at least 1")
    if config.heads > 1 and not recipe.transfer:
        raise TrainingError(
            f"--heads cross-fits heads on a pretrained backbone's features; {config.arch} has none "
            f"(use one of {', '.join(name for name, other in recipes.RECIPES.items() if other.transfer)})"
        )
    if config.head not in heads.HEAD_KINDS:
        raise TrainingError(
            f"unknown head {config.head!r}; choose one of {', '.join(heads.HEAD_KINDS)}"
        )
    if (config.head != "mlp" or config.mirror) and config.heads < 2:
        raise TrainingError(
            "a linear head and mirrored rows are for cross-fitted heads (--heads 2 or more)"
        )
    if config.heads > 1 and config.epochs != 0:
        # Fine-tuning would change the features under the out-of-fold logits the threshold comes from.
        raise TrainingError("--heads above 1 needs --epochs 0 (no fine-tuning)")
    if config.epochs < (0 if recipe.transfer else 1):
        raise TrainingError(
            f"--epochs must be at least {0 if recipe.transfer else 1} for {config.arch}"
        )
    if config.epochs > 0 and recipe.transfer and recipe.fine_tune_from is None:
        raise TrainingError(f"{config.arch}'s backbone can't be fine-tuned; use --epochs 0")
    for name in ("head_epochs", "batch_size", "patience"):
        if getattr(config, name) < 1:
            raise TrainingError(f"--{name.replace('_', '-')} must be at least 1")
    if config.ood_as_class and not config.ood:
        raise TrainingError("--ood-as-class needs --ood, the photos that make up that class")
    if not 0 <= config.ood_exposure_fraction < 1:
        raise TrainingError(
            "the outlier-exposure fraction must be in [0, 1): some OOD photos must stay held out"
        )
    if not 0 <= config.max_reject_rate < 1:
        raise TrainingError("the in-class reject rate must be in [0, 1)")
    if config.out.suffix != ".h5":
        raise TrainingError(f"the model file must end in .h5: {config.out}")


def _report(progress, phase: str) -> None:
    """A one-step phase (evaluating, saving) to the progress callback, if there is one."""
    if progress is not None:
        progress(phase, 0, 1, {})


def _round_all(values) -> list[float]:
    return [round(float(v), 4) for v in values]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
