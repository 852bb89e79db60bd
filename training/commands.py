"""`petclf train` and `petclf evaluate`."""

import argparse
import json
import os
import sys
from pathlib import Path

from classifier.artifact import DEFAULT_MODEL, model_path
from classifier.scoring import SCORE_METHODS
from training import recipes
from training.distribute import STRATEGIES
from training.errors import TrainingError
from training.tag_commands import (
    add_evaluate_arguments,
    add_tags_arguments,
    check_task_flags,
    register_tags,
    run_evaluate_tags,
    run_train_tags,
)

# TensorFlow is imported only when a command runs, so `--help` stays fast.


def register(subparsers) -> None:
    _register_train(subparsers)
    _register_evaluate(subparsers)
    register_tags(subparsers)


def _register_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a classifier on a split folder",
        description=(
            "Train a self-contained Keras model on DATA/train/<class>/ (class names from the folder "
            "names, sorted), carve a seeded validation part out of it for early stopping and the unknown "
            "threshold, evaluate on DATA/test/, and write OUT (.h5, no optimizer state) with its model "
            "card OUT.json, OUT.history.csv, OUT.curves.png and OUT.confusion_matrix.png beside it. "
            "Transfer architectures train their head on cached backbone features, then fine-tune the top "
            "of the backbone (unless --epochs 0). With --ood, part of those photos teaches the model to be unsure on non-pets "
            "(outlier exposure) and the rest measures the false-accept rate."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("Test_train_sets"),
        help="split folder made by `petclf split`",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(DEFAULT_MODEL), help="model file to write (.h5)"
    )
    parser.add_argument(
        "--arch",
        choices=recipes.names(),
        default=recipes.DEFAULT,
        help="; ".join(f"{recipe.name}: {recipe.summary}" for recipe in recipes.RECIPES.values()),
    )
    parser.add_argument(
        "--backbone-weights",
        default="imagenet",
        metavar="imagenet|none|PATH",
        help="backbone weights: imagenet (EfficientNet-Lite0's from the shipped models/imagenet.h5, "
        "MobileNetV2's from Keras's download), none (random), "
        "or a local file: a Keras weights file (also one saved from a trained model's "
        "backbone) or an architecture's .npz of ImageNet weights; an architecture of "
        "several backbones takes one source per part, comma-separated",
    )
    parser.add_argument(
        "--backbone-size",
        type=int,
        default=None,
        help="side the image is resized to for the backbone (default: the architecture's, "
        + ", ".join(
            f"{recipe.name} {recipe.input_size}"
            for recipe in recipes.RECIPES.values()
            if recipe.transfer
        )
        + ")",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs (transfer architectures: of fine-tuning, 0 for the head only); default: "
        + ", ".join(f"{recipe.name} {recipe.epochs}" for recipe in recipes.RECIPES.values()),
    )
    parser.add_argument(
        "--head-epochs", type=int, default=80, help="phase 1 epochs on cached backbone features"
    )
    parser.add_argument(
        "--heads",
        type=int,
        default=1,
        help="transfer architectures with --epochs 0: cross-fit this many heads on folds of the training "
        "images and average them; the unknown threshold then comes from every training "
        "image's out-of-fold score instead of the validation carve-out",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam learning rate (default: per architecture)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the validation carve-out, shuffling and initial weights",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.15,
        help="share of each train class kept for validation",
    )
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs")
    parser.add_argument(
        "--ood",
        type=Path,
        default=None,
        help="folder of photos that are none of the classes (any depth)",
    )
    parser.add_argument(
        "--ood-exposure",
        type=float,
        default=0.5,
        help="share of the --ood photos used in training; the rest measure the false-accept rate",
    )
    parser.add_argument(
        "--ood-weight",
        type=float,
        default=1.0,
        help="loss weight of an --ood photo relative to an average class photo",
    )
    parser.add_argument(
        "--ood-as-class",
        action="store_true",
        help="train the --ood photos as one more class, which the saved model folds away: it "
        "outputs the log-probabilities of the real classes, and the energy score is then "
        "the log-probability that a photo is one of them",
    )
    parser.add_argument(
        "--score",
        choices=SCORE_METHODS,
        default="energy",
        help="confidence score for the unknown decision",
    )
    parser.add_argument(
        "--temperature", type=float, default=1.0, help="temperature of the confidence score"
    )
    parser.add_argument(
        "--max-reject-rate",
        type=float,
        default=0.03,
        help="share of in-class validation images the unknown threshold may reject; below the 5%% "
        "product target because a small validation set, also used for early stopping, "
        "looks more confident than new photos. With --heads, every training image's "
        "out-of-fold score is used instead, and 0.05 lands near 5%% on new photos",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last epoch checkpoint",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy: mirrored splits each batch over the devices",
    )
    parser.add_argument(
        "--logical-cpus",
        type=int,
        default=None,
        help="present the CPU as N devices (to try --strategy mirrored without GPUs)",
    )
    parser.add_argument(
        "--int8-photos",
        type=int,
        default=0,
        metavar="N",
        help="build the served runtime in int8 (about twice as fast on a CPU): calibrated on N "
        "train photos, kept only if its answers are the model's on 98%% of N others; else float. "
        "0: float only",
    )
    add_feature_cache_argument(parser)
    add_tags_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.set_defaults(func=lambda args: run_train(args, parser))


def _register_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model on labelled photos",
        description=(
            "Classify every photo of DATA/<class>/ (a split's test side, a split folder, or raw photos of "
            "any size and format) and report accuracy, per-class precision/recall/F1 and the confusion "
            "matrix; with --ood, also the false-accept rate on those photos and the in-class reject rate "
            "at the card's unknown threshold. OOD photos the model may have seen in training (outlier "
            "exposure) are left out."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help=f"model .h5 (default: $PETCLF_MODEL or {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("Test_train_sets/test"),
        help="folder with one sub-folder per class",
    )
    parser.add_argument(
        "--ood", type=Path, default=None, help="folder of photos that are none of the classes"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout instead of a table"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=Path("confusion_matrix.png"),
        help="confusion-matrix picture (without --json)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    add_evaluate_arguments(parser)
    parser.set_defaults(func=run_evaluate)


def add_feature_cache_argument(parser) -> None:
    parser.add_argument(
        "--feature-cache",
        default=None,
        metavar="DIR|none",
        help="folder that keeps every photo's pooled backbone features for the next run "
        "(default: $PETCLF_HOME/features); none keeps nothing",
    )


def feature_cache_root(flag: str | None) -> Path | None:
    """The --feature-cache folder: the flag, else PETCLF_HOME's; "none" turns the cache off."""
    from training.features import default_root

    if flag == "none":
        return None
    return Path(flag) if flag else default_root()


def run_train(args, parser) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    check_task_flags(args, parser)
    if args.task == "tags":
        return run_train_tags(args)
    if args.logical_cpus is not None:
        if args.logical_cpus < 1:
            raise TrainingError("--logical-cpus must be at least 1")
        from training.distribute import split_cpu

        split_cpu(args.logical_cpus)
    from training.train import TrainConfig, train

    train(
        TrainConfig(
            data=args.data,
            out=args.out,
            arch=args.arch,
            backbone_weights=args.backbone_weights,
            backbone_size=args.backbone_size,
            epochs=args.epochs,
            head_epochs=args.head_epochs,
            heads=args.heads,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            validation_fraction=args.validation_fraction,
            patience=args.patience,
            ood=args.ood,
            ood_exposure_fraction=args.ood_exposure,
            ood_weight=args.ood_weight,
            ood_as_class=args.ood_as_class,
            score_method=args.score,
            temperature=args.temperature,
            max_reject_rate=args.max_reject_rate,
            resume=args.resume,
            strategy=args.strategy,
            feature_cache=feature_cache_root(args.feature_cache),
            int8_photos=args.int8_photos,
            verbose=0 if args.quiet else 2,
        )
    )
    return 0


def run_evaluate(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from classifier.card import card_path, card_task, json_safe, read_card
    from training import report
    from training.evaluate import evaluate
    from training.plots import plot_confusion_matrix

    model = model_path(args.model)
    if args.labels is not None or card_task(read_card(card_path(model))) == "tags":
        return run_evaluate_tags(args, model)
    figures = evaluate(model, args.data, args.ood, batch_size=args.batch_size)
    if args.json:
        keys = ["accuracy", "per_class", "confusion_matrix", "labels"]
        if args.ood is not None:
            keys += ["false_accept_rate", "in_class_reject_rate"]
        print(json.dumps(json_safe({key: figures[key] for key in keys})))
        return 0
    print(report.format_table(figures, figures["labels"]))
    plot_confusion_matrix(
        figures["confusion_matrix"], figures["labels"], args.plot, f"{model.name} on {args.data}"
    )
    print(f"confusion matrix picture: {args.plot}", file=sys.stderr)
    return 0
