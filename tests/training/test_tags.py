"""Tags models through the real CLI: mosaics of generated shapes → train → evaluate → results.csv."""

import csv
from pathlib import Path

import numpy as np
import pytest

from classifier.card import card_path, read_card
from classifier.tags import tag_probabilities
from petclf.cli import main
from tests.cli import run_petclf
from tests.conftest import TINY_LABELS, write_split
from tests.training.test_cli import assert_one_clear_line, run_cli
from training.tag_labels import read_tag_labels
from training.tag_metrics import tune_thresholds


def _cli(*argv) -> None:
    assert main([str(arg) for arg in argv]) == 0


@pytest.fixture(scope="module")
def mosaics(tmp_path_factory) -> Path:
    """root/{train,test}/tags.csv: mosaics of the generated shapes' train and test sides."""
    root = tmp_path_factory.mktemp("mosaics")
    split = write_split(root / "split", train_per_class=12, test_per_class=6)
    _cli("tags", "mosaic", "--src", split / "train", "--out", root / "train", "--count", 72)
    _cli(
        "tags",
        "mosaic",
        "--src",
        split / "test",
        "--out",
        root / "test",
        "--count",
        30,
        "--seed",
        2,
    )
    return root


@pytest.fixture(scope="module")
def backbone_weights(tmp_path_factory) -> Path:
    """The shipped model's pretrained backbone, as `petclf train --backbone-weights` takes it."""
    from jobs.backbone import save_backbone_weights

    weights = tmp_path_factory.mktemp("backbone") / "backbone.weights.h5"
    save_backbone_weights(Path("models/pets.h5"), weights)
    return weights


def _train_tags(capsys, labels: Path, out: Path, weights: Path, cache: Path, *extra) -> tuple:
    return run_cli(
        capsys,
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
        weights,
        "--backbone-size",
        "96",
        "--hidden",
        "64",
        "--feature-cache",
        cache,
        *extra,
    )


@pytest.fixture(scope="module")
def tags_model(mosaics, backbone_weights, tmp_path_factory) -> tuple[Path, Path]:
    """(tags .h5, its feature cache) trained once for the module."""
    folder = tmp_path_factory.mktemp("tags_model")
    out, cache = folder / "tags.h5", folder / "features"
    code = main(
        [
            str(arg)
            for arg in (
                "train",
                "--task",
                "tags",
                "--labels",
                mosaics / "train" / "tags.csv",
                "--out",
                out,
                "--arch",
                "efficientnet_lite0",
                "--backbone-weights",
                backbone_weights,
                "--backbone-size",
                "96",
                "--hidden",
                "64",
                "--feature-cache",
                cache,
            )
        ]
    )
    assert code == 0
    return out, cache


def test_mosaics_are_tagged_with_the_classes_they_show(mosaics):
    labels = read_tag_labels(mosaics / "train" / "tags.csv")
    assert labels.tags == sorted(TINY_LABELS)
    assert len(labels) == 72
    assert {len(name.split("_")[1]) for name in labels.names} == {len("2x1.jpg")}
    counts = labels.targets.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3
    assert (counts > 1).mean() > 0.5  # most mosaics show more than one class
    for name, row in zip(labels.names, counts):
        if "2x1" in name:
            assert row <= 2
    # Seeded: the same sources and seed make the same labels file.
    assert (mosaics / "train" / "tags.csv").read_text().splitlines()[0] == "file,tags"


def test_a_tags_model_learns_mosaics_far_above_the_label_frequency(capsys, tags_model, mosaics):
    model, _ = tags_model
    card = read_card(card_path(model))
    assert card["task"] == "tags"
    assert card["labels"] == sorted(TINY_LABELS)
    assert set(card["tags"]["thresholds"]) == set(TINY_LABELS)
    assert card["training"]["hidden"] == [64]

    results = mosaics / "results.csv"
    test_labels = mosaics / "test" / "tags.csv"
    for _ in range(2):
        code, out, err = run_cli(
            capsys, "evaluate", "--model", model, "--labels", test_labels, "--results", results
        )
        assert code == 0, err
    assert "mAP" in out
    with results.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2  # one row per evaluation
    row = rows[-1]
    assert row["model"] == "tags" and row["hidden"] == "64"
    assert row["architecture"] == "efficientnet_lite0" and row["backbone_size"] == "96"
    frequency = read_tag_labels(test_labels).targets.mean()
    assert float(row["mAP"]) > max(0.85, frequency + 0.3)
    assert float(row["micro_f1"]) > 0.7
    assert 0 <= float(row["precision_at_3"]) <= float(row["precision_at_1"]) <= 1
    with (mosaics / "results_per_tag.csv").open(newline="") as handle:
        per_tag = list(csv.DictReader(handle))
    assert len(per_tag) == 2 * len(TINY_LABELS)
    assert {r["tag"] for r in per_tag} == set(TINY_LABELS)
    assert all(float(r["ap"]) > 0.7 for r in per_tag)


def test_each_threshold_is_tuned_on_the_validation_photos_only(tags_model, mosaics):
    from training.export import load_h5
    from training.heads import predict
    from training.train import data

    model, _ = tags_model
    card = read_card(card_path(model))
    labels = read_tag_labels(mosaics / "train" / "tags.csv")
    validation = [labels.names.index(name) for name in card["data"]["validation_files"]]
    assert len(validation) == card["data"]["validation"] > 0
    assert card["data"]["train"] + len(validation) == len(labels)
    assert card["tags"]["tuned_on"] == "validation"

    images = data.load_images([data.Example(labels.paths[i], 0) for i in validation], "val")
    probabilities = tag_probabilities(predict(load_h5(model), images.pixels, 16))
    expected, _ = tune_thresholds(labels.targets[validation], probabilities)
    thresholds = [card["tags"]["thresholds"][tag] for tag in card["labels"]]
    np.testing.assert_allclose(thresholds, expected, atol=1e-3)


def test_a_second_run_computes_no_features_and_a_damaged_entry_is_recomputed(
    capsys, tags_model, mosaics, backbone_weights, tmp_path
):
    model, cache = tags_model
    first = read_card(card_path(model))["training"]["feature_cache"]
    assert first == {"computed": 72, "read": 0}
    labels = mosaics / "train" / "tags.csv"

    code, _, err = _train_tags(capsys, labels, tmp_path / "again.h5", backbone_weights, cache)
    assert code == 0, err
    assert read_card(card_path(tmp_path / "again.h5"))["training"]["feature_cache"] == {
        "computed": 0,
        "read": 72,
    }

    sorted(cache.rglob("*.npy"))[0].write_bytes(b"\x93NUMPY garbage")
    code, _, err = _train_tags(capsys, labels, tmp_path / "healed.h5", backbone_weights, cache)
    assert code == 0, err
    assert read_card(card_path(tmp_path / "healed.h5"))["training"]["feature_cache"] == {
        "computed": 1,
        "read": 71,
    }


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("file,tags\nmissing.jpg,cat;dog\n", "no photo missing.jpg"),
        ("a.png,cat;dog\nb.png,\n", "line 2: b.png has no tags"),
        ("a.png,cat;dog\nb.png,cat;dog\na.png,dog\n", "a.png is listed twice (first on line 1)"),
        ("a.png,cat;dog\nb.png,cat\n", "the tag 'dog' is on a single photo"),
        ("a.png,cat\nb.png\n", "line 2: expected `file,tag1;tag2;…`"),
        (b"a.png,chat\xe9\nb.png,chat\xe9\n", "is not UTF-8 text"),
        ("file,tags\n", "lists no photos"),
    ],
)
def test_a_bad_labels_file_is_one_clear_line(capsys, tmp_path, content, fragment):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"any")
    labels = tmp_path / "tags.csv"
    labels.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, _, err = _train_tags(
        capsys, labels, tmp_path / "t.h5", tmp_path / "none", tmp_path / "features"
    )
    assert_one_clear_line(code, err, "train", fragment)
    assert not (tmp_path / "t.h5").exists()


def test_mosaics_need_two_classes(capsys, tmp_path):
    write_split(tmp_path / "split", train_per_class=2, test_per_class=0)
    for label in TINY_LABELS[1:]:
        for photo in (tmp_path / "split" / "train" / label).iterdir():
            photo.unlink()
        (tmp_path / "split" / "train" / label).rmdir()
    code, _, err = run_cli(
        capsys, "tags", "mosaic", "--src", tmp_path / "split" / "train", "--out", tmp_path / "m"
    )
    assert_one_clear_line(code, err, "tags", "at least two classes")


def test_predict_adds_each_photos_tags_above_their_thresholds(
    capsys, tags_model, tiny_model, mosaics
):
    import json

    model, _ = tags_model
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    code, out, err = run_cli(
        capsys, "predict", "--model", tiny_model, "--tags-model", model, "--json", *labels.paths
    )
    assert code == 0, err
    thresholds = read_card(card_path(model))["tags"]["thresholds"]
    right = 0
    for line, truth in zip(out.splitlines(), labels.targets):
        shown = json.loads(line)
        assert shown["label"] in (*TINY_LABELS, "unknown")  # the classifier's answer is kept
        assert all(tag["proba"] >= thresholds[tag["tag"]] for tag in shown["tags"])
        expected = {tag for tag, has in zip(labels.tags, truth) if has}
        right += {tag["tag"] for tag in shown["tags"]} == expected
    assert right >= 0.8 * len(labels)

    code, out, _ = run_cli(
        capsys, "predict", "--model", tiny_model, "--tags-model", model, labels.paths[0]
    )
    assert code == 0 and out.splitlines()[-1].startswith("tags: ")


def test_a_tags_model_is_not_a_classifier_and_the_other_way_round(capsys, tags_model, tiny_model):
    model, _ = tags_model
    code, _, err = run_cli(capsys, "predict", "--model", model, "any.jpg")
    assert_one_clear_line(code, err, "predict", "is a tags model, not a classify model")
    code, _, err = run_cli(
        capsys, "predict", "--model", tiny_model, "--tags-model", tiny_model, "any.jpg"
    )
    assert_one_clear_line(code, err, "predict", "is a classify model, not a tags model")


@pytest.mark.parametrize(
    "task, flags, named",
    [
        ("tags", ["--heads", "3", "--ood", "somewhere"], "--heads, --ood"),
        ("classify", ["--hidden", "64"], "--hidden"),
    ],
)
def test_a_flag_the_task_would_ignore_is_one_clear_line(tmp_path, task, flags, named):
    result = run_petclf(
        "train", "--data", tmp_path, "--out", tmp_path / "m.h5", "--task", task, *flags
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"petclf train: error: {named} has no use with --task {task}"
    ]
