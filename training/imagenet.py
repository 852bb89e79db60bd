"""The any-object model: EfficientNet-Lite0's ImageNet-1k classifier as a petclf artifact.

    .venv/bin/python -m training.imagenet                      # ../shared/models/imagenet → models/imagenet.h5
    .venv/bin/python -m training.imagenet --source DIR --out models/imagenet.h5
    .venv/bin/python -m training.imagenet --int8-photos 200    # and its int8 runtime, from ../shared/datasets

It takes the padded 240×240 image like every petclf model and resizes and scales it inside, so
`petclf predict`, the TCP server, the bot and the web page serve it unchanged, with the top five
of the 1,000 ImageNet classes, as the original bot's server did. Its card has no unknown rule: a
threshold of 0 on the top probability never marks a photo unknown (see UNKNOWN).
"""

import argparse
import csv
import json
import random
import shutil
import sys
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
from classifier.errors import ClassifierError
from preprocessing.dataset import class_files
from training import efficientnet_lite, models, recipes
from training.backbones import IMAGENET_MODEL
from training.data import Example, load_images
from training.errors import DataError, TrainingError
from training.export import save_h5

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "models" / "imagenet"
DEFAULT_PHOTOS = ROOT.parent / "shared" / "datasets"
WEIGHTS = "efficientnet_lite0_imagenet.npz"
CLASSES = "imagenet_classes.tsv"
LICENSE = "LICENSE"
# ImageNet names two pairs of classes alike; card labels must be unique, so the second of each
# pair takes its other WordNet name.
RENAMED = {"n03126707": "construction_crane", "n03710721": "tank_suit"}
UNKNOWN = {
    "method": "max_softmax",
    "temperature": 1.0,
    "threshold": 0.0,  # probabilities are never below 0: no photo is unknown
    "target_reject_rate": 0.0,
    "in_class_reject_rate": 0.0,
    "calibration": "none: every photo gets its five most likely ImageNet classes",
    "calibration_images": 0,
    "false_accept_rate": None,
    "ood_images": 0,
    "outlier_exposure_images": 0,
}


def read_classes(path: Path) -> list[tuple[str, str]]:
    """(synset, name) of the 1,000 classes in output order, from the `index, synset, name` table."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except OSError as exc:
        raise DataError(
            f"can't read the ImageNet class names {path}: {exc.strerror or exc}"
        ) from None
    if [row.get("index") for row in rows] != [
        str(index) for index in range(efficientnet_lite.CLASSES)
    ]:
        raise DataError(
            f"{path} must list the {efficientnet_lite.CLASSES} classes in order (columns index, synset, name)"
        )
    return [(row["synset"], row["name"]) for row in rows]


def read_labels(path: Path) -> list[str]:
    """The card's labels: the class names, unique (see RENAMED)."""
    labels = [RENAMED.get(synset, name) for synset, name in read_classes(path)]
    if len(set(labels)) != len(labels):
        raise DataError(f"{path} names two classes alike; add one of them to RENAMED")
    return labels


def build(weights: Path):
    """(the artifact model: padded 240×240 0–255 → 1,000 logits, the network alone: scaled 224×224 → logits).

    The two share their layers; the second is what is compared with the reference ONNX file.
    """
    import keras
    from keras import layers

    recipe = recipes.EFFICIENTNET_LITE0
    size = efficientnet_lite.IMAGENET_SIZE
    backbone = efficientnet_lite.backbone(size)
    classifier = efficientnet_lite.classifier_layer()
    image = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), name="image")
    resized = layers.Resizing(size, size, name="resize")(image)
    model = keras.Model(
        image,
        classifier(models.pooled(backbone, recipe.scaling, resized, named=True)),
        name="imagenet",
    )
    scaled = keras.Input(shape=(size, size, 3), name="scaled_image")
    network = keras.Model(
        scaled,
        classifier(layers.GlobalAveragePooling2D()(backbone(scaled))),
        name=efficientnet_lite.NAME,
    )
    efficientnet_lite.load_npz(backbone, weights, classifier)
    return model, network


def write_artifact(source: Path, out: Path) -> dict:
    """models/imagenet.h5, its card, and the weights' licence beside them; returns the card."""
    labels = read_labels(source / CLASSES)
    model, _ = build(source / WEIGHTS)
    save_h5(model, out)
    recipe = recipes.EFFICIENTNET_LITE0
    card = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "name": out.stem,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": labels,
        "input_size": INPUT_SIZE,
        "output": "logits",
        "architecture": recipe.name,
        "backbone": {
            "name": recipe.name,
            "input_size": efficientnet_lite.IMAGENET_SIZE,
            "weights": f"file:{WEIGHTS}",
        },
        "unknown": UNKNOWN,
        "test_metrics": None,  # converted, not trained: benchmarks/imagenet_parity.py checks it against the reference
        "data": {"source": "ImageNet-1k", "classes": CLASSES, "renamed": RENAMED},
        "training": {
            "converted_from": WEIGHTS,
            "licence": f"Apache-2.0, see {licence_path(out).name}",
            "scaling": f"(x - 127) / 128 after resizing to {efficientnet_lite.IMAGENET_SIZE}, inside the model",
        },
        "h5_sha256": sha256_file(out),
        "h5_bytes": out.stat().st_size,
        "libraries": library_versions(),
    }
    write_card(card, card_path(out))
    shutil.copyfile(source / LICENSE, licence_path(out))
    return card


def int8_photo_order(photos: Path) -> list[Path]:
    """The files under `photos` in the order the int8 build takes them (a fixed shuffle)."""
    files = class_files(photos)
    random.Random(0).shuffle(files)
    return files


def build_int8_runtime(model: Path, photos: Path, count: int) -> dict:
    """The served runtime in int8 when it answers as the model does (classifier.export), else
    float: calibrated on `count` photos found under `photos` (any classes: ImageNet has most),
    checked on as many others. Returns the runtime's description."""
    from classifier.artifact import open_artifact
    from classifier.export import Int8Photos
    from classifier.runtime import build_runtime

    if not photos.is_dir():
        raise DataError(f"the photo folder {photos} does not exist (give one with --photos)")
    files = int8_photo_order(photos)
    pixels: list[np.ndarray] = []
    tried = 0
    while len(pixels) < 2 * count and tried < len(files):  # files that aren't photos are skipped
        batch = files[tried : tried + 2 * count - len(pixels)]
        pixels += list(load_images([Example(path, 0) for path in batch], "int8 photos").pixels)
        tried += len(batch)
    if len(pixels) < 2 * count:
        raise DataError(
            f"{photos} has {len(pixels)} readable photos; --int8-photos {count} needs {2 * count}"
        )
    int8_photos = Int8Photos(calibration=np.stack(pixels[:count]), check=np.stack(pixels[count:]))
    return build_runtime(open_artifact(model), int8_photos)


def licence_path(out: Path) -> Path:
    return out.with_suffix(".LICENSE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help=f"folder with {WEIGHTS}, {CLASSES} and {LICENSE} (default ../shared/models/imagenet)",
    )
    parser.add_argument("--out", type=Path, default=IMAGENET_MODEL)
    parser.add_argument(
        "--int8-photos",
        type=int,
        default=0,
        metavar="N",
        help="build an int8 runtime, calibrated on N photos and checked on N others (default 0: float)",
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=DEFAULT_PHOTOS,
        help="folder of photos for --int8-photos, any depth (default ../shared/datasets)",
    )
    args = parser.parse_args(argv)
    if args.int8_photos < 0:
        parser.error(f"--int8-photos must be 0 or more, not {args.int8_photos}")
    try:
        card = write_artifact(args.source, args.out)
        print(
            f"wrote {args.out} ({card['h5_bytes'] / 1e6:.1f} MB), its card and {licence_path(args.out).name}"
        )
        if args.int8_photos > 0:
            runtime = build_int8_runtime(args.out, args.photos, args.int8_photos)
            print(f"runtime: {runtime.get('precision')}", json.dumps(runtime.get("int8")))
    except (TrainingError, ClassifierError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
