"""The int8 runtime: built from real photos, kept only when it answers as the .h5, checked at every
load against its own recorded outputs."""

import json
from pathlib import Path

import numpy as np
import pytest

from classifier import export, load_engine
from classifier.artifact import open_artifact
from classifier.export import Int8Photos
from classifier.runtime import build_runtime, runtime_paths
from preprocessing import load_padded, to_array
from tests.conftest import TINY_LABELS
from tests.imagegen import encode, shape_image


def model_inputs(size: int, seeds: range) -> np.ndarray:
    """Drawings of the tiny model's classes, through the image path, as model input."""
    return np.stack(
        [
            to_array(load_padded(encode(shape_image(label, seed=seed)), size=size))
            for seed in seeds
            for label in TINY_LABELS
        ]
    )


@pytest.fixture
def int8_photos(model_copy) -> Int8Photos:
    size = open_artifact(model_copy).input_size
    return Int8Photos(model_inputs(size, range(500, 508)), model_inputs(size, range(600, 620)))


def test_an_int8_runtime_that_answers_as_the_h5_is_kept_and_served(model_copy, int8_photos):
    meta = build_runtime(open_artifact(model_copy), int8_photos)
    assert meta["precision"] == "int8", meta.get("int8")
    assert meta["int8"]["check_photos"] == 60 and meta["int8"]["answer_agreement"] >= 0.98
    tflite, recorded = runtime_paths(model_copy)
    assert _tensor_types(tflite) >= {"int8", "float32"}  # int8 inside, float in and out
    assert json.loads(recorded.read_text())["precision"] == "int8"

    engine = load_engine(model_copy)
    assert engine.runtime == "tflite"
    keras = export.KerasRunner(model_copy, engine.artifact.input_size)
    served = engine.score_arrays(int8_photos.check)
    expected = engine.artifact.score(keras.run(int8_photos.check))
    assert (served[0].argmax(1) == expected[0].argmax(1)).mean() >= 0.98


def test_an_int8_runtime_that_answers_otherwise_is_not_kept(model_copy, int8_photos, monkeypatch):
    monkeypatch.setattr(export, "INT8_AGREEMENT", 1.01)  # no runtime can agree that well
    meta = build_runtime(open_artifact(model_copy), int8_photos)
    assert meta["precision"] == "float32" and meta["runtime"] == "tflite"
    assert "answers as the .h5 on" in meta["int8"]["reason"]
    assert "runtime_probe_outputs" not in meta


def test_too_few_photos_leave_the_float_runtime(model_copy, int8_photos):
    few = Int8Photos(int8_photos.calibration[:3], int8_photos.check)
    meta = build_runtime(open_artifact(model_copy), few)
    assert meta["precision"] == "float32"
    assert "3 photos to calibrate on" in meta["int8"]["reason"]


def test_an_int8_runtime_that_no_longer_gives_its_recorded_outputs_is_not_used(
    model_copy, int8_photos
):
    build_runtime(open_artifact(model_copy), int8_photos)
    _, meta_path = runtime_paths(model_copy)
    meta = json.loads(meta_path.read_text())
    outputs = np.asarray(meta["runtime_probe_outputs"])
    meta["runtime_probe_outputs"] = (outputs + [1.0, 0.0, 0.0]).tolist()
    meta_path.write_text(json.dumps(meta))
    assert load_engine(model_copy).runtime == "keras"


@pytest.mark.parametrize("name", ["pets", "imagenet"])
def test_the_shipped_models_are_served_by_their_committed_int8_runtimes(name):
    """Their runtimes can't be rebuilt without the photos they were checked on, so they ship
    beside the .h5 files."""
    shipped = Path(__file__).resolve().parents[2] / "models" / f"{name}.h5"
    engine = load_engine(shipped, threads=1)
    assert (engine.runtime, engine.precision) == ("tflite", "int8")
    meta = json.loads(runtime_paths(shipped)[1].read_text())
    assert meta["int8"]["answer_agreement"] >= export.INT8_AGREEMENT


def _scored(probabilities, unknown) -> tuple:
    probabilities = np.asarray(probabilities, dtype=float)
    return probabilities, probabilities.max(1), np.asarray(unknown)


def test_int8_answers_are_compared_as_each_card_answers():
    """Pets: the top label or unknown. Any-object (no unknown rule): five most likely of many
    classes, where near ties among close kin swap places."""
    h5 = _scored([[0.50, 0.45, 0.05] + [0.0] * 5, [0.9, 0.1] + [0.0] * 6], [False, False])
    swapped = _scored([[0.45, 0.50, 0.05] + [0.0] * 5, [0.9, 0.1] + [0.0] * 6], [False, False])
    far = _scored(
        [[0.05, 0.45, 0.0, 0.0, 0.0, 0.0, 0.0, 0.50], [0.9, 0.1] + [0.0] * 6], [False] * 2
    )
    pets = {"unknown": {"method": "max_softmax", "threshold": 0.3}}
    any_object = {"unknown": {"method": "max_softmax", "threshold": 0.0}}
    assert export.answer_agreement(swapped, h5, pets) == 0.5
    assert export.answer_agreement(swapped, h5, any_object) == 1.0
    # its top label is not in the .h5's five
    assert export.answer_agreement(far, h5, any_object) == 0.5
    unknown = _scored(h5[0], [True, False])
    assert export.answer_agreement(unknown, h5, pets) == 0.5


def _tensor_types(tflite) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite))
    return {detail["dtype"].__name__ for detail in interpreter.get_tensor_details()}


def test_petclf_train_builds_the_int8_runtime_it_is_asked_for(tmp_path, tiny_training_data):
    from petclf.cli import main

    split, _ = tiny_training_data
    out = tmp_path / "m.h5"
    argv = ["train", "--data", split, "--out", out, "--arch", "tiny_cnn", "--epochs", "3"]
    assert main([str(arg) for arg in [*argv, "--int8-photos", "12", "--quiet"]]) == 0
    meta = json.loads(runtime_paths(out)[1].read_text())
    assert (meta["int8"]["calibration_photos"], meta["int8"]["check_photos"]) == (12, 12)
    assert meta["precision"] == ("int8" if meta["int8"]["answer_agreement"] >= 0.98 else "float32")


def test_the_imagenet_build_calibrates_on_a_folder_of_photos_at_any_depth(model_copy, tmp_path):
    from training import imagenet
    from training.errors import DataError

    photos = tmp_path / "photos"
    for seed in range(500, 510):
        for label in TINY_LABELS:
            folder = photos / label / ("deeper" if seed % 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{seed}.png").write_bytes(encode(shape_image(label, seed=seed)))
    (photos / "MANIFEST.csv").write_text("not a photo\n")
    meta = imagenet.build_int8_runtime(model_copy, photos, 12)
    assert (meta["int8"]["calibration_photos"], meta["int8"]["check_photos"]) == (12, 12)
    with pytest.raises(DataError, match="--int8-photos 20 needs 40"):
        imagenet.build_int8_runtime(model_copy, photos, 20)
    with pytest.raises(DataError, match="does not exist"):
        imagenet.build_int8_runtime(model_copy, tmp_path / "elsewhere", 12)
