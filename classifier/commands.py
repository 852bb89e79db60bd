"""`petclf predict`: classify image files from the command line."""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from classifier.artifact import DEFAULT_MODEL, model_path
from classifier.engine import load_engine
from classifier.scoring import DEFAULT_TOP
from preprocessing import ImageError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify image files with a trained model",
        description="Classify image files (any size; JPEG, PNG, GIF, WebP, BMP or TIFF) and print the "
        "most likely labels. A photo that looks like none of the classes is labelled 'unknown'.",
        epilog="Exit status: 0 when every image was classified, 1 when any image or the model failed.",
    )
    parser.add_argument(
        "images", nargs="+", type=Path, metavar="IMAGE", help="image files to classify"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help=f"the model's .h5, its card .json beside it (default: $PETCLF_MODEL or {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--top",
        type=_positive,
        default=DEFAULT_TOP,
        help=f"how many labels to show (default {DEFAULT_TOP})",
    )
    parser.add_argument(
        "--tags-model",
        type=Path,
        default=None,
        help="a tags model's .h5 (`petclf train --task tags`; default: $PETCLF_TAGS_MODEL, if "
        'set): each image also gets "tags", [{"tag", "proba"}] above their thresholds',
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per image and line: {"file", "predictions": [{"label", "proba"}], "label", "unknown"}',
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="petclf predict: %(message)s")
    engine = load_engine(model_path(args.model), threads=1)
    tags_model = args.tags_model or os.environ.get("PETCLF_TAGS_MODEL")
    tagger = load_engine(tags_model, threads=1, task="tags") if tags_model else None
    failed = 0
    for path in args.images:
        try:
            data = path.read_bytes()
            image = engine.prepare(data)  # decoded once, for the classifier and the tagger
            prediction = engine.predict_image(image, top=args.top)
            tags = tagger.tag_image(image) if tagger else None
        except (ImageError, OSError) as exc:
            failed += 1
            message = f"{exc.strerror}" if isinstance(exc, OSError) else str(exc)
            if args.json:
                print(
                    json.dumps(
                        {
                            "file": str(path),
                            "error": {"code": type(exc).__name__, "message": message},
                        }
                    )
                )
            print(f"petclf predict: {path}: {message}", file=sys.stderr)
            continue
        shown = prediction.to_dict() if tags is None else {**prediction.to_dict(), "tags": tags}
        if args.json:
            print(json.dumps({"file": str(path), **shown}))
        else:
            print(describe(path, prediction, tags))
    return 1 if failed else 0


def describe(path: Path, prediction, tags: list[dict] | None = None) -> str:
    lines = [f"{path}: {prediction.label}"]
    if prediction.unknown:
        lines[0] += " (this doesn't look like any of the model's classes)"
    # The lines the original bot's server sent, and the bot still does: "1. Egyptian_cat (0.7730)".
    lines += [
        f"{rank}. {label} ({proba:.4f})" for rank, (label, proba) in enumerate(prediction.top, 1)
    ]
    if tags is not None:
        lines.append("tags: " + (", ".join(tag["tag"] for tag in tags) or "none"))
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
