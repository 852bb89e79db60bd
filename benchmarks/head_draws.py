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

`--imagenet-probabilities` appends the ImageNet classifier's 1,000 probabilities (the any-object
model's, on the same pooled features) to each photo's features, as a test of whether the
classifier's knowledge of look-alikes (guinea pig, agama, iguana…) parts non-pets better.
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
from train_time_to_accuracy import DEFAULT_LITE0, DEFAULT_OOD, SHIPPED_RECIPE  # noqa: E402
from unknown_scores import cross_fitted_heads  # noqa: E402

# Probabilities sum to 1, so most are near 0; scaled, the likely classes' reach the pooled
# features' largest values (2 to 4 per photo).
PROBABILITY_SCALE = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "Test_train_sets")
    parser.add_argument("--ood", type=Path, default=DEFAULT_OOD)
    parser.add_argument("--weights", type=Path, default=DEFAULT_LITE0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--imagenet-probabilities", action="store_true")
    args = parser.parse_args()

    sides, labels = cached_sides(args)
    if args.imagenet_probabilities:
        sides = with_imagenet_probabilities(sides, args.weights)
    print(f"{'seed':>4} {'accuracy':>8} {'test rejected':>13} {'non-pets accepted':>17} {'AUC':>6}")
    rows = []
    for seed in args.seeds:
        rows.append(draw(seed, sides, labels))
        print(
            f"{seed:>4} {rows[-1][0]:>8.1%} {rows[-1][1]:>13.1%} {rows[-1][2]:>17.1%} {rows[-1][3]:>6.4f}"
        )
    for name, column in zip(("accuracy", "rejected", "accepted", "AUC"), zip(*rows)):
        print(
            f"{name}: mean {statistics.mean(column):.4f}, range {min(column):.4f}–{max(column):.4f}"
        )
    return 0


def cached_sides(args) -> tuple[dict, dict]:
    """Pooled features of the train, exposure, test and held-out non-pet photos as the recipe
    splits them (through the feature cache), and the class labels of train and test."""
    import keras

    from training import data, efficientnet_lite, features, recipes
    from training.train import TrainConfig, feature_cache, pooled_features, prepare_data

    config = TrainConfig(
        data=args.data,
        out=Path("unused.h5"),
        arch=efficientnet_lite.NAME,
        backbone_weights=str(args.weights),
        ood=args.ood,
        feature_cache=features.default_root(),
        **SHIPPED_RECIPE,
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
    return sides, {"train": prepared.train.labels, "test": prepared.test.labels}


def with_imagenet_probabilities(sides: dict, weights: Path) -> dict:
    """Each side's features with the any-object model's classifier's probabilities appended."""
    from scipy.special import softmax

    from training import imagenet

    model, _ = imagenet.build(weights)
    kernel, bias = model.get_layer("logits").get_weights()
    return {
        name: np.concatenate(
            [rows, PROBABILITY_SCALE * softmax(rows @ kernel + bias, axis=1)], axis=1
        )
        for name, rows in sides.items()
    }


def draw(seed: int, sides: dict, labels: dict) -> tuple[float, float, float, float]:
    """(test accuracy, test rejected, held-out non-pets accepted, ROC area) of one draw of the heads."""
    import keras
    from sklearn.metrics import roc_auc_score

    from classifier import scoring

    keras.utils.set_random_seed(seed)
    logits, out_of_fold = cross_fitted_heads(
        sides["train"],
        labels["train"],
        sides["exposure"],
        {"test": sides["test"], "heldout": sides["heldout"]},
        seed,
        outlier_class=True,
    )
    threshold = scoring.threshold_for_reject_rate(
        scoring.confidence(out_of_fold, "energy"), SHIPPED_RECIPE["max_reject_rate"]
    )
    test, heldout = (scoring.confidence(logits[side], "energy") for side in ("test", "heldout"))
    auc = roc_auc_score(np.r_[np.ones(len(test)), np.zeros(len(heldout))], np.r_[test, heldout])
    return (
        float((logits["test"].argmax(axis=1) == labels["test"]).mean()),
        scoring.rejected_fraction(test, threshold),
        scoring.accepted_fraction(heldout, threshold),
        float(auc),
    )


if __name__ == "__main__":
    raise SystemExit(main())
