"""Compare unknown-photo scores on the frozen backbone features of trained models.

For each model given (whose backbone was not fine-tuned: any transfer architecture, e.g. the
shipped model and benchmarks/train_time_to_accuracy.py's models of the other backbones and of
their concatenation), the pooled backbone features are computed once; then each method is scored
the way single-head training calibrates: threshold at 3% in-class rejection on the validation
carve-out, false-accept rate on held-out OOD photos, reject rate on the test side. The model
itself is scored at its card's threshold. `oracle@5%` is the false-accept rate at a threshold set
on the test side itself (exactly 5% rejected): not a usable calibration, only the best the score
could do.

    .venv/bin/python benchmarks/unknown_scores.py --data Test_train_sets --ood ../shared/datasets/ood
    .venv/bin/python benchmarks/unknown_scores.py --models models/pets.h5 benchmarks/out/*-seed1.h5

Methods: the model's own score; Mahalanobis distance (shared Ledoit-Wolf covariance) and cosine
1-NN on the pooled features; heads retrained on cached features with outlier exposure on 50% or
70% of the OOD photos, one head or an average of five (threshold on validation), or five
cross-fitted heads as `petclf train --heads 5` trains them (threshold at 4% of the out-of-fold
scores of all train/ images), with uniform targets for the OOD photos or with them as a class of
their own (`--ood-as-class`), three seeds each. So every row is measured on the same photos,
all rows use the OOD photos held out at the 70% exposure fraction.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL_EXPOSURE = 0.7  # held-out photos at this fraction are held out at every fraction compared
CALIBRATION_REJECT = 0.03  # on a small validation carve-out, as single-head training calibrates
OUT_OF_FOLD_REJECT = 0.04  # as the shipped model is calibrated (see models/README.md)
TARGET_REJECT = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path, nargs="+", default=[ROOT / "models" / "pets.h5"])
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / "Test_train_sets",
        help="the split the model was trained on",
    )
    parser.add_argument("--ood", type=Path, default=ROOT.parent / "shared" / "datasets" / "ood")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for model in args.models:
        print(f"\n{model}", flush=True)
        compare(model, args)
    return 0


def compare(model: Path, args) -> None:
    features, logits, labels, ood_position = cached_features(model, args)
    heldout = ood_position >= EVAL_EXPOSURE
    print(
        f"{len(labels['test'])} test images, {int(heldout.sum())} held-out OOD photos; threshold on "
        f"{len(labels['validation'])} validation images at {CALIBRATION_REJECT:.0%} rejection"
    )
    print(f"{'method':40s} {'FAR':>6s} {'test rej':>8s} {'oracle@5%':>9s} {'accuracy':>8s}")

    from scipy.special import logsumexp

    from classifier import scoring
    from classifier.card import card_path, read_card

    card = read_card(card_path(model))
    card_scores = {side: scoring.score_outputs(value, card)[1] for side, value in logits.items()}
    show(
        "model, its card's threshold",
        card_scores,
        heldout,
        logits,
        labels,
        threshold=card["unknown"]["threshold"],
    )
    show("Mahalanobis (Ledoit-Wolf)", mahalanobis(features, labels["train"]), heldout)
    show("cosine 1-NN", cosine_nn(features), heldout)
    for fraction in (0.5, EVAL_EXPOSURE):
        for heads in (1, 5):
            for seed in range(1, args.seeds + 1):
                head_logits = retrained_heads(features, labels, ood_position, fraction, heads, seed)
                scores = {side: logsumexp(value, axis=1) for side, value in head_logits.items()}
                show(
                    f"OE {fraction:.0%}, {heads} head(s), seed {seed}",
                    scores,
                    heldout,
                    head_logits,
                    labels,
                )
        for outlier_class in (False, True):
            for seed in range(1, args.seeds + 1):
                head_logits, out_of_fold = cross_fitted_heads(
                    np.concatenate([features["train"], features["validation"]]),
                    np.concatenate([labels["train"], labels["validation"]]),
                    features["ood"][ood_position < fraction],
                    features,
                    seed,
                    outlier_class,
                )
                scores = {side: logsumexp(value, axis=1) for side, value in head_logits.items()}
                threshold = quantile(logsumexp(out_of_fold, axis=1), OUT_OF_FOLD_REJECT)
                kind = "as a class" if outlier_class else "uniform"
                show(
                    f"OE {fraction:.0%} {kind}, 5 cross-fitted, s{seed}",
                    scores,
                    heldout,
                    head_logits,
                    labels,
                    threshold=threshold,
                )


def cached_features(model_path: Path, args):
    """Pooled backbone features and logits of the model for every side, and each OOD photo's hash position."""
    import keras

    from training import data
    from training.heads import predict

    model = keras.models.load_model(model_path, compile=False)
    pooled = keras.Model(model.inputs, model.get_layer("pool").output)
    train_dir, test_dir = data.split_sides(args.data)
    names = [folder.name for folder in data.class_folders(train_dir)]
    train, validation = data.carve_validation(data.labelled_examples(train_dir, names), 0.15, 1)
    ood = data.ood_examples(args.ood)
    sides = {
        "train": data.load_images(train, "train"),
        "validation": data.load_images(validation, "validation"),
        "test": data.load_images(data.labelled_examples(test_dir, names), "test"),
        "ood": data.load_images(ood, "OOD"),
    }
    features = {side: predict(pooled, images.pixels, 32) for side, images in sides.items()}
    logits = {side: predict(model, images.pixels, 32) for side, images in sides.items()}
    labels = {side: images.labels for side, images in sides.items()}
    position = np.array([data.ood_position(p) for p in sides["ood"].paths])
    return features, logits, labels, position


def show(name, scores, heldout, logits=None, labels=None, threshold=None):
    if threshold is None:
        threshold = quantile(scores["validation"], CALIBRATION_REJECT)
    oracle = quantile(scores["test"], TARGET_REJECT)
    ood = scores["ood"][heldout]
    accuracy = (
        f"{(logits['test'].argmax(1) == labels['test']).mean():8.3f}"
        if logits is not None
        else f"{'':8s}"
    )
    print(
        f"{name:40s} {(ood >= threshold).mean():6.3f} {(scores['test'] < threshold).mean():8.3f} "
        f"{(ood >= oracle).mean():9.3f} {accuracy}",
        flush=True,
    )


def quantile(scores, reject_rate):
    from classifier.scoring import threshold_for_reject_rate

    return threshold_for_reject_rate(scores, reject_rate)


def mahalanobis(features, train_labels):
    from sklearn.covariance import LedoitWolf

    classes = np.unique(train_labels)
    means = np.stack([features["train"][train_labels == c].mean(axis=0) for c in classes])
    precision = LedoitWolf().fit(features["train"] - means[train_labels]).precision_

    def score(x):
        return -np.stack(
            [np.einsum("ij,jk,ik->i", x - m, precision, x - m) for m in means], axis=1
        ).min(axis=1)

    return {side: score(value) for side, value in features.items()}


def cosine_nn(features):
    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    reference = unit(features["train"])
    return {side: (unit(value) @ reference.T).max(axis=1) for side, value in features.items()}


def retrained_heads(features, labels, ood_position, fraction, heads, seed):
    """The shipped head's layers and loss, trained on cached features; logits averaged over `heads` heads."""
    import keras

    from training import data, models
    from training.heads import compile_model, fit_head

    exposure = (ood_position < fraction) & (ood_position >= fraction * data.OOD_VALIDATION_SHARE)
    watch = ood_position < fraction * data.OOD_VALIDATION_SHARE
    weights = data.class_weights(labels["train"], int(labels["train"].max()) + 1)

    def arrays(class_side, ood_mask):
        x = np.concatenate([features[class_side], features["ood"][ood_mask]])
        y = np.concatenate([labels[class_side], -np.ones(int(ood_mask.sum()), np.int64)])
        return x, data.soft_targets(y, len(weights)), data.sample_weights(y, weights, 1.0)

    train, validation = arrays("train", exposure), arrays("validation", watch)
    outputs = []
    for index in range(heads):
        head_seed = seed * 100 + index
        keras.utils.set_random_seed(head_seed)
        head = models.head(train[0].shape[1], len(weights), seed=head_seed)
        compile_model(head, 1e-3)
        fit_head(head, train, validation, epochs=80, seed=head_seed, replicas=1, phase="head")
        outputs.append({side: head.predict(value, verbose=0) for side, value in features.items()})
    return {side: np.mean([output[side] for output in outputs], axis=0) for side in features}


def cross_fitted_heads(class_features, class_labels, exposure, sides, seed, outlier_class):
    """How `--heads 5` trains: five heads on folds of the class photos' and the exposure photos'
    features; their average logits on each of `sides` (name → features), and the out-of-fold
    logits of the class photos (the threshold's quantile). With `outlier_class`, the exposure
    photos are one more class, folded away as training does."""
    from training import data, models
    from training.heads import cross_fit

    weights = data.class_weights(class_labels, int(class_labels.max()) + 1)
    outlier = -np.ones(len(exposure), np.int64)

    classes = len(weights)
    fitted = cross_fit(
        (
            class_features,
            data.soft_targets(class_labels, classes, outlier_class),
            data.sample_weights(class_labels, weights, 1.0),
        ),
        (
            exposure,
            data.soft_targets(outlier, classes, outlier_class),
            data.sample_weights(outlier, weights, 1.0),
        ),
        heads=5,
        epochs=80,
        learning_rate=1e-3,
        seed=seed,
    )

    def folded(logits):
        return models.folded_logits(logits, classes) if outlier_class else logits

    # Direct calls, as cross_fit makes: predict() would compile a function per head and side.
    logits = {
        side: np.mean(
            [folded(np.asarray(head(value, training=False))) for head in fitted.heads], axis=0
        )
        for side, value in sides.items()
    }
    return logits, folded(fitted.class_logits)


if __name__ == "__main__":
    sys.exit(main())
