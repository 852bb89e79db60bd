"""How much the shipped recipe's figures move with the heads' random draw alone.

The shipped model's recipe (training/reproduce_default_model.sh: EfficientNet-Lite0 at 240, five
cross-fitted heads, half the non-pets as a folded-away seventh class, the threshold at 4% of the
out-of-fold scores) is fitted again on the same cached features once per seed. For each draw it
prints the test accuracy, the test photos rejected and the held-out non-pets accepted at the
out-of-fold threshold, and the area under the ROC curve of the energy score (test photos against
held-out non-pets), which no threshold changes. A seed here is not `petclf train --seed`'s draw:
training builds the backbone first, which moves the random state the heads start from.

    .venv/bin/python benchmarks/head_draws.py --seeds 1 2 3 4 5 6 7 8 9 10
    .venv/bin/python benchmarks/head_draws.py --seeds 1 2 3 --imagenet-probabilities

`--imagenet-probabilities` appends the ImageNet classifier's 1,000 probabilities (its `_fc` layer
from the same .npz, on the same pooled features) to each photo's features, as a test of whether
the classifier's knowledge of look-alikes (guinea pig, agama, iguana…) parts non-pets better.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
HEADS = 5
REJECT = 0.04  # out of fold, as the shipped model is calibrated
# Probabilities sum to 1, so most are near 0; scaled, the likely classes' reach the pooled
# features' largest values (2 to 4 per photo).
PROBABILITY_SCALE = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "Test_train_sets")
    parser.add_argument("--ood", type=Path, default=SHARED / "datasets" / "ood")
    parser.add_argument(
        "--weights",
        type=Path,
        default=SHARED / "models" / "imagenet" / "efficientnet_lite0_imagenet.npz",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--imagenet-probabilities", action="store_true")
    args = parser.parse_args()

    sides, labels = cached_sides(args)
    if args.imagenet_probabilities:
        classifier = imagenet_classifier(args.weights)
        sides = {name: with_probabilities(rows, *classifier) for name, rows in sides.items()}
    print(f"{'seed':>4} {'accuracy':>8} {'test rejected':>13} {'non-pets accepted':>17} {'AUC':>6}")
    rows = [draw(seed, sides, labels) for seed in args.seeds]
    for seed, row in zip(args.seeds, rows):
        print(
            f"{seed:>4} {row[0]:>8.1%} {row[1]:>13.1%} {row[2]:>17.1%} {row[3]:>6.4f}", flush=True
        )
    for name, column in zip(("accuracy", "rejected", "accepted", "AUC"), zip(*rows)):
        print(
            f"{name}: mean {statistics.mean(column):.4f}, range {min(column):.4f}–{max(column):.4f}"
        )
    return 0


def cached_sides(args) -> tuple[dict, dict]:
    """Pooled features of the train, test, exposure and held-out non-pet photos, as the recipe splits them."""
    import keras

    from training import data, efficientnet_lite, features, recipes
    from training.train import TrainConfig, feature_cache, pooled_features, prepare_data

    config = TrainConfig(
        data=args.data,
        out=Path("unused.h5"),
        arch=efficientnet_lite.NAME,
        backbone_weights=str(args.weights),
        epochs=0,
        heads=HEADS,
        ood=args.ood,
        ood_as_class=True,
        feature_cache=features.default_root(),
    )
    keras.utils.set_random_seed(1)
    class_names = [folder.name for folder in data.class_folders(args.data / "train")]
    built = recipes.build(
        config.arch, len(class_names) + 1, backbone_weights=config.backbone_weights
    )
    prepared = prepare_data(config, class_names, log=lambda message: None)
    cache = feature_cache(
        config.feature_cache, config.arch, recipes.get(config.arch).input_size, built
    )
    parts = {
        "train": prepared.train,
        "exposure": prepared.ood_exposure,
        "test": prepared.test,
        "heldout": prepared.ood_heldout,
    }
    sides = {name: pooled_features(cache, built, 32, part) for name, part in parts.items()}
    return sides, {name: part.labels for name, part in parts.items()}


def imagenet_classifier(weights: Path) -> tuple[np.ndarray, np.ndarray]:
    from training.efficientnet_lite import read_npz

    arrays = read_npz(weights)
    return arrays["_fc.weight"].T, arrays["_fc.bias"]


def with_probabilities(rows: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return np.concatenate([rows, PROBABILITY_SCALE * softmax(rows @ kernel + bias, axis=1)], axis=1)


def draw(seed: int, sides: dict, labels: dict) -> tuple[float, float, float, float]:
    import keras
    from sklearn.metrics import roc_auc_score

    from classifier import scoring
    from training import data, heads, models

    classes = int(labels["train"].max()) + 1  # the non-pets are labelled -1
    weights = data.class_weights(labels["train"], classes)

    def arrays(rows, row_labels):
        return (
            rows,
            data.soft_targets(row_labels, classes, outlier_class=True),
            data.sample_weights(row_labels, weights, 1.0),
        )

    keras.utils.set_random_seed(seed)
    fitted = heads.cross_fit(
        arrays(sides["train"], labels["train"]),
        arrays(sides["exposure"], labels["exposure"]),
        heads=HEADS,
        epochs=80,
        learning_rate=1e-3,
        seed=seed,
    )

    def energy(logits):
        return scoring.confidence(models.folded_logits(logits, classes), "energy")

    def served(rows):  # the saved model's output: the average of the folded heads
        return np.mean(
            [models.folded_logits(np.asarray(head(rows)), classes) for head in fitted.served],
            axis=0,
        )

    threshold = scoring.threshold_for_reject_rate(energy(fitted.class_logits), REJECT)
    test, heldout = served(sides["test"]), served(sides["heldout"])
    test_scores = scoring.confidence(test, "energy")
    heldout_scores = scoring.confidence(heldout, "energy")
    auc = roc_auc_score(
        np.r_[np.ones(len(test_scores)), np.zeros(len(heldout_scores))],
        np.r_[test_scores, heldout_scores],
    )
    return (
        float((test.argmax(axis=1) == labels["test"]).mean()),
        scoring.rejected_fraction(test_scores, threshold),
        scoring.accepted_fraction(heldout_scores, threshold),
        float(auc),
    )


if __name__ == "__main__":
    raise SystemExit(main())
