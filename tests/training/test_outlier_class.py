"""`--ood-as-class`: non-pets trained as one more class, folded away in the saved model."""

import keras
import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from classifier.card import card_path, read_card
from tests.conftest import write_ood, write_split
from tests.training.test_cli import assert_one_clear_line, run_cli
from training import models


def test_the_folded_model_outputs_the_classes_log_probabilities_in_the_full_softmax():
    inputs = keras.Input(shape=(5,))
    # three classes and the outlier class
    unfolded = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    folded = models.fold_outlier_class(unfolded, 3)
    x = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
    logits = unfolded.predict(x, verbose=0)

    outputs = folded.predict(x, verbose=0)
    np.testing.assert_allclose(outputs, models.folded_logits(logits, 3), rtol=1e-5, atol=1e-5)
    full = softmax(logits, axis=1)
    # The energy score is the log-probability of being one of the classes; softmax over the
    # outputs is each class's probability given that.
    np.testing.assert_allclose(
        logsumexp(outputs, axis=1), np.log(1 - full[:, 3]), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        softmax(outputs, axis=1), full[:, :3] / full[:, :3].sum(axis=1, keepdims=True), atol=1e-5
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--arch", "tiny_cnn", "--epochs", "3"],
        # Cross-fitted heads, each folded before they are averaged.
        [
            "--arch",
            "efficientnet_lite0",
            "--backbone-weights",
            "none",
            "--backbone-size",
            "96",
            "--epochs",
            "0",
            "--heads",
            "2",
            "--head-epochs",
            "2",
        ],
    ],
    ids=["one model", "cross-fitted heads"],
)
def test_train_with_the_outlier_class_saves_a_model_over_the_real_classes(capsys, tmp_path, flags):
    split = write_split(tmp_path / "split", train_per_class=8, test_per_class=3)
    ood = write_ood(tmp_path / "ood", count=10)
    out = tmp_path / "m.h5"
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        out,
        *flags,
        "--ood",
        ood,
        "--ood-as-class",
        "--quiet",
    )
    assert code == 0, err
    card = read_card(card_path(out))
    assert card["training"]["outlier_class"] is True and len(card["labels"]) == 3
    assert card["unknown"]["calibration_images"] > 0
    outputs = keras.models.load_model(out, compile=False).predict(
        np.zeros((2, 240, 240, 3), np.float32), verbose=0
    )
    # log-probabilities of a 4-way softmax
    assert outputs.shape == (2, 3) and (logsumexp(outputs, axis=1) <= 1e-6).all()


def test_the_outlier_class_needs_ood_photos(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        "tiny_cnn",
        "--ood-as-class",
    )
    assert_one_clear_line(code, err, "train", "--ood-as-class needs --ood")
