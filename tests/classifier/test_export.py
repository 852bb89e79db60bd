"""Converting a model to its TFLite runtime: each converter's result is checked against the .h5."""

from pathlib import Path

from classifier.export import export
from classifier.runners import PARITY_TOLERANCE

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_a_model_converts_from_its_traced_call(tiny_model, tmp_path):
    meta = export(tiny_model, tmp_path)
    assert meta["runtime"] == "tflite" and meta["converter"] == "traced call"
    assert meta["max_proba_difference"] <= PARITY_TOLERANCE
    assert (tmp_path / "model.tflite").is_file() and "reason" not in meta


def test_a_traced_call_that_converts_unfaithfully_falls_back_to_the_keras_model(tmp_path):
    """The ImageNet model's traced call converts to a graph that answers NaN; the probe catches it."""
    meta = export(MODELS / "imagenet.h5", tmp_path)
    assert meta["runtime"] == "tflite" and meta["converter"] == "Keras model"
    assert meta["max_proba_difference"] <= PARITY_TOLERANCE
