"""Cross-fitted heads (`petclf train --heads K`): the ensemble and its out-of-fold calibration."""

import numpy as np
import pytest

from classifier.card import card_path, read_card
from tests.conftest import TINY_LABELS, write_ood, write_split
from tests.training.test_cli import assert_one_clear_line, run_cli
from training import data, heads, models, recipes


def _class_arrays(per_class: int, seed: int):
    from tests.imagegen import shape_image

    pixels = np.stack(
        [
            np.asarray(shape_image(label, seed=seed + n), np.uint8)
            for label in TINY_LABELS
            for n in range(per_class)
        ]
    )
    labels = np.repeat(np.arange(len(TINY_LABELS)), per_class)
    weights = data.class_weights(labels, len(TINY_LABELS))
    return (
        pixels,
        data.soft_targets(labels, len(TINY_LABELS)),
        data.sample_weights(labels, weights, 1.0),
    )


def test_cross_fit_scores_each_image_with_the_head_that_never_saw_it_and_the_model_averages_them():
    built = recipes.build(
        "mobilenet_v2", len(TINY_LABELS), backbone_weights="none", backbone_size=96, seed=1
    )
    pixels, targets, weights = _class_arrays(per_class=6, seed=0)
    features = heads.predict(built.features, pixels, 8)
    ood_features = np.random.default_rng(0).normal(size=(6, features.shape[1])).astype(np.float32)
    ood = (
        ood_features,
        data.soft_targets(-np.ones(6, np.int64), len(TINY_LABELS)),
        np.ones(6, np.float32),
    )

    fitted = heads.cross_fit(
        (features, targets, weights), ood, heads=3, epochs=2, learning_rate=1e-3, seed=1
    )

    per_head = np.stack([head.predict(features, verbose=0) for head in fitted.heads])
    # Every image's out-of-fold logits are one head's, and each head scores its own fold: a third.
    matches = np.isclose(fitted.class_logits[None], per_head, atol=1e-4).all(axis=2)
    assert (matches.sum(axis=0) == 1).all()
    assert sorted(matches.sum(axis=1).tolist()) == [len(pixels) // 3] * 3
    assert fitted.ood_logits.shape == (6, len(TINY_LABELS))
    assert {row["phase"] for row in fitted.history} == {"head 1", "head 2", "head 3"}
    # The saved model's output is the heads' average.
    model = models.ensemble(built, fitted.heads)
    np.testing.assert_allclose(
        heads.predict(model, pixels, 8), per_head.mean(axis=0), rtol=1e-4, atol=1e-4
    )


def test_train_with_heads_calibrates_on_every_training_image(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=6, test_per_class=2)
    ood = write_ood(tmp_path / "ood", count=12)
    out = tmp_path / "ensemble.h5"
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        out,
        "--backbone-weights",
        "none",
        "--backbone-size",
        "96",
        "--epochs",
        "0",
        "--heads",
        "3",
        "--head-epochs",
        "2",
        "--ood",
        ood,
        "--ood-exposure",
        "0.6",
        "--quiet",
    )
    assert code == 0, err
    card = read_card(card_path(out))
    assert card["training"]["heads"] == 3 and card["training"]["fine_tune_kept"] is None
    assert card["unknown"]["calibration"] == "out-of-fold"
    # all of train/, no carve-out
    assert card["unknown"]["calibration_images"] == 6 * len(TINY_LABELS)
    assert card["data"]["cross_fitting_folds"] == 3
    assert sum(card["data"]["images"]["validation"].values()) == 0
    phases = {
        line.split(",")[1] for line in out.with_suffix(".history.csv").read_text().splitlines()[1:]
    }
    assert phases == {"head 1", "head 2", "head 3"}


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--epochs", "1"], "--epochs 0"),
        (["--epochs", "0", "--arch", "tiny_cnn"], "mobilenet_v2"),
        (["--epochs", "0", "--heads", "9"], "at least 9 train images per class"),
        (["--epochs", "0", "--heads", "0"], "--heads must be at least 1"),
    ],
)
def test_train_refuses_heads_it_cannot_cross_fit(capsys, tmp_path, extra, fragment):
    split = write_split(tmp_path / "split", train_per_class=6, test_per_class=2)
    arguments = ["--heads", "3", *extra] if "--heads" not in extra else extra
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--backbone-weights",
        "none",
        "--backbone-size",
        "96",
        "--quiet",
        *arguments,
    )
    assert_one_clear_line(code, err, "train", fragment)
    assert not (tmp_path / "m.h5").exists()
