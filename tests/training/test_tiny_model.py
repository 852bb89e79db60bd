"""The tiny model the whole suite shares: trained by the real training code, checked end to end."""

import json

import numpy as np
import pytest

from classifier import scoring
from classifier.card import (
    CardError,
    card_path,
    check_output_size,
    read_card,
    sha256_file,
    validate_card,
)
from preprocessing import load_padded, to_array
from tests.imagegen import encode, shape_image
from training.train import TrainConfig


@pytest.fixture(scope="module")
def card(tiny_model):
    return read_card(card_path(tiny_model))


@pytest.fixture(scope="module")
def keras_model(tiny_model):
    import keras

    return keras.models.load_model(tiny_model, compile=False)


def test_card_matches_the_schema_and_the_file(tiny_model, card):
    assert validate_card(card) is card
    assert card["labels"] == ["bird", "cat", "dog"]
    assert card["input_size"] == 240
    assert card["output"] == "logits"
    assert card["architecture"] == "tiny_cnn"
    assert card["h5_sha256"] == sha256_file(tiny_model)
    assert card["h5_bytes"] == tiny_model.stat().st_size
    assert card["libraries"]["keras"].startswith("3.")
    assert card["data"]["images"]["test"] == {"bird": 10, "cat": 10, "dog": 10}
    assert card["training"]["wall_time_seconds"] > 0


def test_card_records_the_unknown_threshold(card):
    unknown = card["unknown"]
    assert unknown["method"] in scoring.SCORE_METHODS
    assert np.isfinite(unknown["threshold"])
    assert unknown["target_reject_rate"] == TrainConfig.max_reject_rate
    assert unknown["in_class_reject_rate"] <= unknown["target_reject_rate"]
    assert unknown["calibration_images"] > 0
    # Outlier exposure used some generated OOD photos and measured on the rest.
    assert unknown["ood_images"] > 0 and unknown["outlier_exposure_images"] > 0
    assert unknown["ood_images"] + unknown["outlier_exposure_images"] == 12
    assert 0.0 <= unknown["false_accept_rate"] <= 1.0


def test_tiny_model_learns_clearly_above_chance(card):
    metrics = card["test_metrics"]
    assert metrics["images"] == 30
    assert metrics["accuracy"] >= 0.8  # chance is 1/3
    assert np.trace(np.asarray(metrics["confusion_matrix"])) == round(metrics["accuracy"] * 30)


def test_h5_round_trip_reproduces_the_test_metrics(keras_model, card, tiny_training_data):
    """Loaded back with plain Keras, the model scores exactly what training measured."""
    split, _ = tiny_training_data
    labels = card["labels"]
    paths = [
        (index, path)
        for index, label in enumerate(labels)
        for path in sorted((split / "test" / label).iterdir())
    ]
    outputs = keras_model.predict(
        np.stack([to_array(load_padded(path)) for _, path in paths]), verbose=0
    )
    accuracy = float(np.mean(outputs.argmax(axis=1) == np.asarray([index for index, _ in paths])))
    assert accuracy == pytest.approx(card["test_metrics"]["accuracy"], abs=1e-4)


def test_loaded_model_classifies_fresh_drawings(keras_model, card):
    """New drawings, JPEG-encoded, through the one image path, as every caller does."""
    labels = card["labels"]
    images, truth = [], []
    for index, label in enumerate(labels):
        for seed in range(50_000, 50_008):
            data = encode(shape_image(label, seed), "JPEG", quality=92)
            images.append(to_array(load_padded(data)))
            truth.append(index)
    outputs = keras_model.predict(np.stack(images), verbose=0)
    assert outputs.shape == (24, 3)
    probs, scores, unknown = scoring.score_outputs(outputs, card)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == np.asarray(truth)).mean() >= 0.75
    assert scores.shape == unknown.shape == (24,)


def test_card_labels_must_match_the_model_outputs(keras_model, card):
    check_output_size(card, int(keras_model.outputs[0].shape[-1]))
    with pytest.raises(CardError, match="3 labels but .* 4 outputs"):
        check_output_size(card, 4, "other.h5")


def test_card_on_disk_is_plain_json(tiny_model):
    text = card_path(tiny_model).read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["format"] == "petclf-model-card"
