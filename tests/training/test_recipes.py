"""The recipe registry: every architecture builds, its backbone can be taken out of a trained model
and handed back, and the wrong architecture or file is one clear line."""

import keras
import numpy as np
import pytest

from classifier.card import card_path, read_card, write_card
from tests.conftest import TINY_LABELS, write_ood, write_split
from tests.training.test_cli import assert_one_clear_line, run_cli
from training import recipes
from training.errors import TrainingError
from training.export import save_h5
from training.train import TrainConfig, train

SMALLEST = 96


def probe() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (2, 240, 240, 3)).astype(np.float32)


@pytest.mark.parametrize("name", recipes.names())
def test_every_architecture_builds_and_outputs_one_logit_per_class(name):
    recipe = recipes.get(name)
    built = recipes.build(
        name, len(TINY_LABELS), backbone_weights="none", backbone_size=SMALLEST, seed=1
    )
    assert built.model.output.shape[-1] == len(TINY_LABELS)
    assert np.isfinite(built.model.predict(probe(), verbose=0)).all()
    if recipe.transfer:
        pooled = built.features.predict(probe(), verbose=0)
        assert pooled.shape[0] == 2 and pooled.shape[1] == built.head.input.shape[-1]
        assert not built.backbone.trainable  # phase 1 trains the head only
    else:
        assert built.backbone is None and built.features is None


@pytest.mark.parametrize("name", [name for name in recipes.names() if recipes.get(name).transfer])
def test_the_backbone_of_a_saved_model_loads_back_as_backbone_weights(name, tmp_path):
    built = recipes.build(
        name, len(TINY_LABELS), backbone_weights="none", backbone_size=SMALLEST, seed=1
    )
    save_h5(built.model, tmp_path / "model.h5")
    loaded = keras.models.load_model(tmp_path / "model.h5", compile=False)

    recipes.backbone_layer(loaded, name).save_weights(tmp_path / "backbone.weights.h5")
    rebuilt = recipes.build(
        name,
        len(TINY_LABELS),
        backbone_weights=str(tmp_path / "backbone.weights.h5"),
        backbone_size=SMALLEST,
        seed=2,
    )

    # Random weights of another seed would differ everywhere; these are the saved model's.
    np.testing.assert_allclose(
        rebuilt.features.predict(probe(), verbose=0),
        built.features.predict(probe(), verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )
    assert rebuilt.weights_source == "file:backbone.weights.h5"


def test_backbone_layer_names_the_problem():
    tiny = recipes.build("tiny_cnn", 3).model
    with pytest.raises(TrainingError, match="tiny_cnn has no pretrained backbone"):
        recipes.backbone_layer(tiny, "tiny_cnn")
    lite = recipes.build(
        "efficientnet_lite0", 3, backbone_weights="none", backbone_size=SMALLEST
    ).model
    with pytest.raises(TrainingError, match="has no mobilenet_v2 backbone"):
        recipes.backbone_layer(lite, "mobilenet_v2")
    with pytest.raises(
        TrainingError, match="unknown architecture 'resnet50'; petclf knows mobilenet_v2"
    ):
        recipes.backbone_layer(lite, "resnet50")


def test_a_card_naming_an_unknown_architecture_is_one_clear_error(tiny_model, tmp_path):
    """Project training passes a shipped card's architecture on; one petclf doesn't know stops it at once."""
    card = read_card(card_path(tiny_model))
    card["architecture"] = "resnet50"
    write_card(card, tmp_path / "card.json")
    arch = read_card(tmp_path / "card.json")["architecture"]
    with pytest.raises(TrainingError) as raised:
        train(
            TrainConfig(data=tmp_path / "absent", out=tmp_path / "m.h5", arch=arch),
            log=lambda message: None,
        )
    assert (
        str(raised.value)
        == f"unknown architecture 'resnet50'; petclf knows {', '.join(recipes.names())}"
    )


def test_heads_with_an_architecture_that_cannot_cross_fit(capsys, tmp_path):
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
        "--heads",
        "3",
    )
    assert_one_clear_line(code, err, "train", "--heads", "tiny_cnn has none")
    assert not (tmp_path / "m.h5").exists()


def test_the_combined_backbone_cannot_be_fine_tuned(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        recipes.COMBINED.name,
        "--backbone-weights",
        "none",
        "--epochs",
        "1",
    )
    assert_one_clear_line(code, err, "train", "can't be fine-tuned", "--epochs 0")


def test_the_combined_backbone_takes_one_weights_source_per_part(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        recipes.COMBINED.name,
        "--backbone-weights",
        "none,none,none",
        "--epochs",
        "0",
    )
    assert_one_clear_line(code, err, "train", "2 comma-separated weights sources", "got 3")


def test_defaults_come_from_the_recipe(tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    ood = write_ood(tmp_path / "ood", count=4)
    card = train(
        TrainConfig(data=split, out=tmp_path / "m.h5", arch="tiny_cnn", ood=ood, verbose=0),
        log=lambda message: None,
    )
    assert card["training"]["max_epochs"] == recipes.TINY_CNN.epochs
    assert card["training"]["learning_rate"] == recipes.TINY_CNN.learning_rate
