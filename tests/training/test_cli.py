"""`petclf train` and `petclf evaluate` through the real console entry point."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.card import card_path, read_card, write_card
from petclf.cli import main
from tests.conftest import write_ood, write_split
from tests.imagegen import encode, shape_image

PETCLF = [sys.executable, "-m", "petclf"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_clear_line(code: int, err: str, command: str, *fragments: str) -> None:
    """Progress lines may come first; the error is one line, the last, and there is no traceback."""
    assert code != 0
    errors = [line for line in err.strip().splitlines() if "error" in line.lower()]
    assert len(errors) == 1, err
    assert err.strip().splitlines()[-1] == errors[0]
    assert errors[0].startswith(f"petclf {command}: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in errors[0]


# evaluate


def test_evaluate_json_matches_the_cards_test_metrics(capsys, tiny_model, tiny_training_data):
    split, ood = tiny_training_data
    code, out, _ = run_cli(
        capsys, "evaluate", "--model", tiny_model, "--data", split / "test", "--ood", ood, "--json"
    )
    assert code == 0
    figures = json.loads(out)  # exactly one JSON object and nothing else on stdout
    assert set(figures) == {
        "accuracy",
        "per_class",
        "confusion_matrix",
        "labels",
        "false_accept_rate",
        "in_class_reject_rate",
    }
    card = read_card(card_path(tiny_model))
    assert figures["labels"] == card["labels"]
    assert figures["accuracy"] == card["test_metrics"]["accuracy"]
    assert figures["confusion_matrix"] == card["test_metrics"]["confusion_matrix"]
    assert (
        figures["per_class"]["cat"]["recall"] == card["test_metrics"]["per_class"]["cat"]["recall"]
    )
    # Training measured the same held-out OOD photos at the same threshold.
    assert figures["false_accept_rate"] == card["unknown"]["false_accept_rate"]
    assert 0.0 <= figures["in_class_reject_rate"] <= 1.0


def test_evaluate_predicts_through_the_served_runtime(capsys, model_copy, tiny_training_data):
    """The figures are the served model's: evaluate loads the engine, which builds and checks the TFLite runtime."""
    from classifier import load_engine
    from classifier.runtime import runtime_paths

    split, _ = tiny_training_data
    code, out, err = run_cli(
        capsys, "evaluate", "--model", model_copy, "--data", split / "test", "--json"
    )
    assert code == 0, err
    tflite, meta = runtime_paths(model_copy)
    assert tflite.is_file() and json.loads(meta.read_text())["runtime"] == "tflite"
    engine = load_engine(model_copy)
    labels = engine.labels
    truth = [labels.index(path.parent.name) for path in sorted((split / "test").glob("*/*"))]
    served = [
        labels.index(engine.predict_bytes(path.read_bytes()).top[0][0])
        for path in sorted((split / "test").glob("*/*"))
    ]
    assert json.loads(out)["accuracy"] == pytest.approx(
        sum(t == s for t, s in zip(truth, served)) / len(truth), abs=1e-4
    )


def test_evaluate_accepts_a_split_folder_and_prints_a_table(
    capsys, tiny_model, tiny_training_data, tmp_path
):
    split, _ = tiny_training_data
    plot = tmp_path / "cm.png"
    code, out, _ = run_cli(
        capsys, "evaluate", "--model", tiny_model, "--data", split, "--plot", plot
    )
    assert code == 0
    assert "accuracy:" in out and "on 30 images" in out
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_evaluate_raw_photos_of_any_size_and_format(capsys, tiny_model, tmp_path):
    """Raw photos go through the one image path; a broken file is skipped with a warning."""
    for label, fmt, size in (
        ("cat", "JPEG", (640, 360)),
        ("dog", "WEBP", (200, 300)),
        ("bird", "GIF", (500, 500)),
    ):
        folder = tmp_path / "raw" / label
        folder.mkdir(parents=True)
        for seed in range(4):
            (folder / f"{label}{seed}.img").write_bytes(
                encode(shape_image(label, 70_000 + seed, size), fmt)
            )
    (tmp_path / "raw" / "cat" / "notes.txt").write_text("not a photo")
    code, out, err = run_cli(
        capsys, "evaluate", "--model", tiny_model, "--data", tmp_path / "raw", "--json"
    )
    assert code == 0
    figures = json.loads(out)
    assert sum(map(sum, figures["confusion_matrix"])) == 12
    assert "skipped 1 file" in err


def test_evaluate_with_a_class_the_model_does_not_know(capsys, tiny_model, tmp_path):
    (tmp_path / "data" / "hamster").mkdir(parents=True)
    (tmp_path / "data" / "hamster" / "h.png").write_bytes(encode(shape_image("cat", 1), "PNG"))
    code, _, err = run_cli(capsys, "evaluate", "--model", tiny_model, "--data", tmp_path / "data")
    assert_one_clear_line(code, err, "evaluate", "hamster", "not one of the model's labels")


def test_evaluate_with_card_labels_that_do_not_match_the_outputs(
    capsys, model_copy, tiny_training_data
):
    card = read_card(card_path(model_copy))
    card["labels"] = ["bird", "cat", "dog", "fish"]
    card["test_metrics"] = None
    write_card(card, card_path(model_copy))
    code, _, err = run_cli(
        capsys, "evaluate", "--model", model_copy, "--data", tiny_training_data[0]
    )
    assert_one_clear_line(code, err, "evaluate", "4 labels", "3 outputs")


def test_evaluate_a_model_that_does_not_match_its_card(capsys, model_copy, tiny_training_data):
    with open(model_copy, "ab") as stream:
        stream.write(b"\0")
    code, _, err = run_cli(
        capsys, "evaluate", "--model", model_copy, "--data", tiny_training_data[0]
    )
    assert_one_clear_line(code, err, "evaluate", "doesn't match its card")


def test_evaluate_a_damaged_model_file(capsys, model_copy, tiny_training_data):
    from classifier.card import sha256_file

    model_copy.write_bytes(b"this is not an HDF5 file")
    card = read_card(card_path(model_copy))
    card["h5_sha256"] = sha256_file(model_copy)
    write_card(card, card_path(model_copy))
    code, _, err = run_cli(
        capsys, "evaluate", "--model", model_copy, "--data", tiny_training_data[0]
    )
    assert_one_clear_line(code, err, "evaluate", "can't be loaded as a Keras model")


def test_evaluate_without_a_card(capsys, model_copy, tiny_training_data):
    card_path(model_copy).unlink()
    code, _, err = run_cli(
        capsys, "evaluate", "--model", model_copy, "--data", tiny_training_data[0]
    )
    assert_one_clear_line(code, err, "evaluate", "card", "missing")


# train: bad input


@pytest.fixture
def small_split(tmp_path) -> Path:
    return write_split(tmp_path / "split", train_per_class=4, test_per_class=1)


def test_train_with_one_class(capsys, tmp_path, small_split):
    for label in ("bird", "dog"):
        shutil.rmtree(small_split / "train" / label)
    code, _, err = run_cli(
        capsys, "train", "--data", small_split, "--out", tmp_path / "m.h5", "--arch", "tiny_cnn"
    )
    assert_one_clear_line(code, err, "train", "at least two class folders", "only cat")


def test_train_with_an_empty_class(capsys, tmp_path, small_split):
    for path in (small_split / "train" / "dog").iterdir():
        path.unlink()
    code, _, err = run_cli(
        capsys, "train", "--data", small_split, "--out", tmp_path / "m.h5", "--arch", "tiny_cnn"
    )
    assert_one_clear_line(code, err, "train", "dog", "is empty")


def test_train_without_a_split(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "--data", tmp_path / "Test_train_sets", "--out", tmp_path / "m.h5"
    )
    assert_one_clear_line(code, err, "train", "run `petclf split` first")
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    code, _, err = run_cli(
        capsys, "train", "--data", tmp_path / "photos", "--out", tmp_path / "m.h5"
    )
    assert_one_clear_line(code, err, "train", "is not a split", "no train/ folder")


def test_train_with_an_unreadable_weights_file(capsys, tmp_path, small_split):
    weights = tmp_path / "backbone.weights.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n but truncated")
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        small_split,
        "--out",
        tmp_path / "m.h5",
        "--backbone-weights",
        weights,
    )
    assert_one_clear_line(code, err, "train", "can't load", str(weights), "mobilenet_v2 backbone")
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        small_split,
        "--out",
        tmp_path / "m.h5",
        "--backbone-weights",
        tmp_path / "missing.h5",
    )
    assert_one_clear_line(code, err, "train", "does not exist")


def test_train_imagenet_download_without_network(tmp_path, small_split):
    """A fresh Keras cache and no route out: the download fails, and the user is told what to do."""
    env = {
        **os.environ,
        "KERAS_HOME": str(tmp_path / "keras"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
    }
    result = subprocess.run(
        [
            *PETCLF,
            "train",
            "--data",
            small_split,
            "--out",
            tmp_path / "m.h5",
            "--backbone-weights",
            "imagenet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_clear_line(
        result.returncode,
        result.stderr,
        "train",
        "could not download the ImageNet weights",
        "--backbone-weights PATH",
    )
    assert not (tmp_path / "m.h5").exists()


def test_resume_without_a_checkpoint(capsys, tmp_path, small_split):
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        small_split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        "tiny_cnn",
        "--resume",
    )
    assert_one_clear_line(code, err, "train", "nothing to resume")


# train: distribution


def test_train_mirrored_on_two_logical_cpus(tmp_path):
    split = write_split(tmp_path / "split", train_per_class=8, test_per_class=2)
    ood = write_ood(tmp_path / "ood", count=6)
    out = tmp_path / "mirrored.h5"
    result = subprocess.run(
        [
            *PETCLF,
            "train",
            "--data",
            split,
            "--out",
            out,
            "--arch",
            "tiny_cnn",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--strategy",
            "mirrored",
            "--logical-cpus",
            "2",
            "--ood",
            ood,
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    card = read_card(card_path(out))
    assert card["training"]["strategy"] == "mirrored"
    assert card["training"]["replicas"] == 2
    assert card["test_metrics"]["images"] == 6
    assert out.with_suffix(".history.csv").read_text().count("\n") == 3  # header + 2 epochs


def test_resume_continues_an_interrupted_run_from_its_last_checkpoint(tmp_path):
    split = write_split(tmp_path / "split", train_per_class=8, test_per_class=2)
    out = tmp_path / "resumed.h5"
    metadata = tmp_path / "resumed.checkpoint" / "training_metadata.json"
    base = [
        *PETCLF,
        "train",
        "--data",
        split,
        "--out",
        out,
        "--arch",
        "tiny_cnn",
        "--batch-size",
        "4",
        "--patience",
        "500",
    ]
    first = subprocess.Popen(
        [*base, "--epochs", "500"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        saved = 0
        while saved < 3 and first.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                saved = json.loads(metadata.read_text())["epoch"]
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130, err
    assert "petclf train: interrupted" in err
    assert not out.exists()
    saved = json.loads(metadata.read_text())["epoch"]

    second = subprocess.run(
        [*base, "--epochs", str(saved + 2), "--resume"], capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr
    epochs = [line.split()[1] for line in second.stdout.splitlines() if line.startswith("Epoch ")]
    assert epochs == [f"{saved + 1}/{saved + 2}", f"{saved + 2}/{saved + 2}"]
    history = out.with_suffix(".history.csv").read_text().splitlines()
    assert len(history) - 1 == saved + 2  # the epochs before the interruption are kept, once each
    assert read_card(card_path(out))["training"]["epochs_run"] == len(history) - 1
    assert not metadata.parent.exists()  # checkpoints are removed once the model is saved


def test_mobilenet_v2_trains_in_two_phases(capsys, tmp_path):
    """The transfer-learning path end to end, small: head on cached features, then fine-tuning."""
    split = write_split(tmp_path / "split", train_per_class=6, test_per_class=2)
    out = tmp_path / "mobilenet.h5"
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
        "--head-epochs",
        "3",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--quiet",
    )
    assert code == 0, err
    assert "phase 1" in err and "phase 2" in err
    card = read_card(card_path(out))
    assert card["architecture"] == "mobilenet_v2"
    assert card["backbone"] == {"name": "mobilenet_v2", "input_size": 96, "weights": "none"}
    assert card["training"]["head_epochs_run"] == 3 and card["training"]["epochs_run"] == 1
    assert isinstance(card["training"]["fine_tune_kept"], bool)
    phases = [
        line.split(",")[1] for line in out.with_suffix(".history.csv").read_text().splitlines()[1:]
    ]
    assert phases == ["head", "head", "head", "fine-tune"]


def test_there_is_no_multi_machine_strategy(tmp_path):
    """Keras 3's fit can't run MultiWorkerMirroredStrategy on TensorFlow, so the option is gone."""
    help_text = subprocess.run(
        [*PETCLF, "train", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    assert "--strategy" in help_text and "multiworker" not in help_text
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert "multiworker" not in readme.read_text()
    result = subprocess.run(
        [*PETCLF, "train", "--data", tmp_path, "--strategy", "multiworker"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "invalid choice: 'multiworker'" in result.stderr
