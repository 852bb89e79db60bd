"""A tags model on mosaics of the real pet photos: how well it tags, and what the feature cache saves.

Mosaics (2×1 and 2×2, tagged with the classes they show) are composed from the seed-1 split of
--pets: the train mosaics from its train side, the test mosaics from its test side. A tags
model (EfficientNet-Lite0, the shipped backbone, at --size 480: the padded image enlarged 2×;
--hidden) is trained twice through the CLI on one fresh feature cache, then evaluated on the
test mosaics.

    .venv/bin/python benchmarks/tags.py                    # preprocess + split ../shared/datasets/pets
    .venv/bin/python benchmarks/tags.py --data Test_train_sets

Printed: mAP, micro and macro F1, precision@1 and @3 on the test mosaics; the head's training
time on cached features; the feature step of the first run (decode + backbone) and of the
second (cache reads), and their ratio. Targets: mAP ≥ 0.95, micro-F1 ≥ 0.90, training ≤ 60 s,
second feature step ≥ 10× faster. Everything goes to a temporary folder (--keep to choose one).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train_time_to_accuracy import DEFAULT_LITE0, DEFAULT_PETS, make_split  # noqa: E402

PETCLF = [sys.executable, "-m", "petclf"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pets", type=Path, default=DEFAULT_PETS, help="class folders of photos")
    parser.add_argument("--data", type=Path, default=None, help="an existing seed-1 split")
    parser.add_argument("--weights", type=Path, default=DEFAULT_LITE0, help="backbone weights")
    parser.add_argument(
        "--size", type=int, default=480, help="backbone input size (480: the image enlarged 2×)"
    )
    parser.add_argument("--hidden", default="1500", help="the head's hidden layers")
    parser.add_argument(
        "--per-photo", type=float, default=2.0, help="train mosaics per train photo"
    )
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep everything in")
    args = parser.parse_args()
    for path, what in ((args.data or args.pets, "photos"), (args.weights, "backbone weights")):
        if not path.exists():
            sys.exit(f"the {what} {path} are missing (see ../shared/README.md)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="petclf-tags-") as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        split = args.data or make_split(args.pets, root)
        mosaics = make_mosaics(split, root / "mosaics", args.per_photo)
        cards = [
            train(args, mosaics / "train" / "tags.csv", root / f"run{run}.h5", root / "features")
            for run in (1, 2)
        ]
        figures = evaluate(root / "run2.h5", mosaics / "test" / "tags.csv", root / "results.csv")
        report(cards, figures, mosaics)
    return 0


def make_mosaics(split: Path, out: Path, per_photo: float) -> Path:
    """Train mosaics: `per_photo` per train photo (more mixes of the same photos); test: one
    per test photo."""
    photos = sum(1 for path in (split / "train").rglob("*") if path.is_file())
    for side, seed, count in (("train", "1", round(per_photo * photos)), ("test", "2", None)):
        extra = ["--count", str(count)] if count else []
        run(["tags", "mosaic", "--src", split / side, "--out", out / side, "--seed", seed, *extra])
    return out


def train(args, labels: Path, out: Path, cache: Path) -> dict:
    run(
        [
            "train",
            "--task",
            "tags",
            "--labels",
            labels,
            "--out",
            out,
            "--arch",
            "efficientnet_lite0",
            "--backbone-weights",
            args.weights,
            "--backbone-size",
            str(args.size),
            "--hidden",
            args.hidden,
            "--head-epochs",
            "200",
            "--feature-cache",
            cache,
        ]
    )
    return json.loads(out.with_suffix(".json").read_text())


def evaluate(model: Path, labels: Path, results: Path) -> dict:
    run(["evaluate", "--model", model, "--labels", labels, "--results", results])
    with results.open(newline="") as handle:
        return list(csv.DictReader(handle))[-1]


def report(cards: list[dict], figures: dict, mosaics: Path) -> None:
    first, second = (card["training"] for card in cards)
    train_count = cards[0]["data"]["photos"]
    test_count = figures["photos"]
    print(f"mosaics: {train_count} train, {test_count} test ({mosaics})")
    print(
        f"mAP {float(figures['mAP']):.4f}   micro-F1 {float(figures['micro_f1']):.4f}   "
        f"macro-F1 {float(figures['macro_f1']):.4f}   precision@1 "
        f"{float(figures['precision_at_1']):.4f}   precision@3 {float(figures['precision_at_3']):.4f}"
    )
    for run_number, training in enumerate((first, second), start=1):
        print(
            f"run {run_number}: features {training['feature_seconds']:.2f} s "
            f"({training['feature_cache']['computed']} computed, "
            f"{training['feature_cache']['read']} read), head {training['head_seconds']:.2f} s "
            f"({training['epochs_run']} epochs), whole run {training['wall_time_seconds']:.1f} s"
        )
    ratio = first["feature_seconds"] / max(second["feature_seconds"], 1e-9)
    print(f"second feature step {ratio:.1f}x faster than the first")
    print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


def run(argv: list) -> None:
    done = subprocess.run(
        [*PETCLF, *map(str, argv)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if done.returncode:
        sys.exit(done.stderr.decode(errors="replace").strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
