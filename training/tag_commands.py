"""The tags parts of `petclf train` (`--task tags`) and `petclf evaluate` (a tags model), and
`petclf tags` (labels files for them)."""

import argparse
import sys
from pathlib import Path

from classifier.artifact import DEFAULT_MODEL
from training.errors import TrainingError


def hidden_layers(text: str) -> tuple[int, ...]:
    """`1500`, `1500,500`, or empty for a linear head."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes like 1500 or 1500,500, got {text!r}"
        ) from None


def add_tags_arguments(parser) -> None:
    parser.add_argument(
        "--task",
        choices=("classify", "tags"),
        default="classify",
        help="classify: one class per photo, from DATA's class folders; tags: any number of "
        "tags per photo, from --labels (an MLP head with one sigmoid per tag on cached backbone "
        "features, each tag's threshold tuned for F1 on the validation part)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="--task tags: a CSV of `file,tag1;tag2;…` rows, files relative to it or to --data",
    )
    parser.add_argument(
        "--hidden",
        type=hidden_layers,
        default=(1500,),
        metavar="N[,N…]",
        help="--task tags: the head's hidden layer sizes; empty ('') for a linear head",
    )


# Flags one task has no use for: given with the other task, they are an error, not ignored.
CLASSIFY_ONLY = (
    "epochs",
    "heads",
    "patience",
    "ood",
    "ood_exposure",
    "ood_weight",
    "ood_as_class",
    "score",
    "temperature",
    "max_reject_rate",
    "resume",
    "strategy",
    "int8_photos",
    "logical_cpus",
)
TAGS_ONLY = ("labels", "hidden")


def check_task_flags(args, parser) -> None:
    """One clear line for a flag the chosen --task would silently ignore."""
    unused = TAGS_ONLY if args.task == "classify" else CLASSIFY_ONLY
    given = [dest for dest in unused if getattr(args, dest) != parser.get_default(dest)]
    if given:
        flags = ", ".join("--" + dest.replace("_", "-") for dest in given)
        raise TrainingError(f"{flags} has no use with --task {args.task}")


def run_train_tags(args) -> int:
    from training.commands import feature_cache_root
    from training.tag_train import TagsConfig, train_tags

    if args.labels is None:
        raise TrainingError("--task tags needs --labels, a CSV of `file,tag1;tag2;…` rows")
    if args.out == Path(DEFAULT_MODEL):
        raise TrainingError("--task tags needs its own --out (not the shipped classifier's file)")
    train_tags(
        TagsConfig(
            labels=args.labels,
            out=args.out,
            data=args.data,
            arch=args.arch,
            backbone_weights=args.backbone_weights,
            backbone_size=args.backbone_size,
            hidden=args.hidden,
            epochs=args.head_epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate or 1e-3,
            seed=args.seed,
            validation_fraction=args.validation_fraction,
            feature_cache=feature_cache_root(args.feature_cache),
        )
    )
    return 0


def add_evaluate_arguments(parser) -> None:
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="a tags model: the CSV of `file,tag1;tag2;…` rows to measure it on (files relative "
        "to it or to --data)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results.csv"),
        help="a tags model: the CSV that gains one row per evaluation (model, configuration, "
        "mAP, micro/macro F1, precision@1 and @3); per-tag AP goes to <name>_per_tag.csv beside it",
    )


def run_evaluate_tags(args, model: Path) -> int:
    import json

    from classifier.card import card_path, json_safe, read_card
    from training.tag_evaluate import append_results, evaluate_tags, format_tag_table

    if args.labels is None:
        raise TrainingError(f"{model} is a tags model: give --labels, a CSV of its photos' tags")
    figures = evaluate_tags(model, args.labels, args.data, batch_size=args.batch_size)
    per_tag = append_results(args.results, model, read_card(card_path(model)), args.labels, figures)
    if args.json:
        print(json.dumps(json_safe(figures)))
    else:
        print(format_tag_table(figures))
    print(f"results: a row added to {args.results} and to {per_tag}", file=sys.stderr)
    return 0


def register_tags(subparsers) -> None:
    parser = subparsers.add_parser(
        "tags",
        help="make labels files for tags models (--task tags)",
        description="Labels files (`file,tag1;tag2;…`) for training tags models without the "
        "internet: mosaics of class photos, or the Flickr tags the scraper recorded.",
    )
    commands = parser.add_subparsers(dest="tags_command", metavar="<tags command>", required=True)
    mosaic = commands.add_parser(
        "mosaic",
        help="compose 2x1 and 2x2 mosaics of class photos, tagged with the classes in them",
        description="Compose mosaics (2x1: 480x240, 2x2: 480x480) of photos drawn at random "
        "(seeded) from SRC/<class>/ and write them with OUT/tags.csv, each tagged with the "
        "classes it shows. Make the train mosaics from a split's train side and the test "
        "mosaics from its test side.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    mosaic.add_argument("--src", type=Path, required=True, help="folder of class folders")
    mosaic.add_argument("--out", type=Path, required=True, help="folder to write the mosaics to")
    mosaic.add_argument(
        "--count", type=int, default=None, help="how many (default: one per source photo)"
    )
    mosaic.add_argument("--seed", type=int, default=1)
    mosaic.set_defaults(func=run_mosaic)
    manifest = commands.add_parser(
        "from-manifest",
        help="the Flickr tags the scraper recorded → a labels file",
        description="Write a labels file from the tags `petclf scrape` recorded for each photo "
        "in its manifest, keeping the tags on at least --min-photos photos (and the photos that "
        "have one of them). Files are written relative to OUT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    manifest.add_argument("--manifest", type=Path, default=Path("Images/raw/manifest.csv"))
    manifest.add_argument("--out", type=Path, default=Path("Images/raw/tags.csv"))
    manifest.add_argument(
        "--min-photos", type=int, default=10, help="keep the tags on at least this many photos"
    )
    manifest.set_defaults(func=run_from_manifest)


def run_mosaic(args) -> int:
    from training.mosaic import compose_mosaics

    labels = compose_mosaics(args.src, args.out, args.count, args.seed)
    print(f"wrote {labels}", file=sys.stderr)
    return 0


def run_from_manifest(args) -> int:
    from training.manifest_tags import labels_from_manifest

    photos, tags = labels_from_manifest(args.manifest, args.out, args.min_photos)
    print(f"wrote {args.out}: {photos} photos, {tags} tags", file=sys.stderr)
    return 0
