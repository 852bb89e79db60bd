"""Derive the TFLite runtime from a Keras .h5 and check it: the one module that imports TensorFlow.

Run as `python -m classifier.export MODEL.h5 --out DIR`; writes DIR/model.tflite (when the
conversion is faithful) and DIR/runtime.json (see classifier.runtime).

Given real photos (training does), the first try is an int8 runtime: weights and activations in
8 bits, about twice as fast on a CPU, calibrated on some photos and kept only when it answers as
the .h5 on INT8_AGREEMENT of other photos (see `answer_agreement`). It can't match the .h5 on the
synthetic probe batch as closely as a float runtime, so its own outputs there are recorded too,
and every later load checks it against those.
"""

import argparse
import contextlib
import json
import sys
import threading
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from classifier.artifact import open_artifact
from classifier.card import check_output_size
from classifier.errors import ClassifierError, ModelError
from classifier.runners import PARITY_TOLERANCE, TFLiteRunner, probe_batch, probe_difference
from classifier.scoring import DEFAULT_TOP, marks_unknown
from preprocessing.dataset import sha256_hex

FORMAT_VERSION = 1  # of runtime.json; classifier.runtime rebuilds a cache of any other
MIN_INT8_PHOTOS = 8  # fewer calibration or check photos than this: the float runtime only
INT8_AGREEMENT = 0.98  # share of the check photos whose answer must be the .h5's


class Int8Photos(NamedTuple):
    """Real photos (n, size, size, 3), 0–255: some to calibrate an int8 runtime on, and others,
    of the model's classes, to check it on."""

    calibration: np.ndarray
    check: np.ndarray


def load_keras_model(h5_path: Path):
    import keras

    try:
        return keras.models.load_model(h5_path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a damaged or foreign file
        raise ModelError(
            f"{h5_path} can't be loaded as a Keras model ({type(exc).__name__}: {exc})"
        ) from None


def compiled_call(model, input_size: int):
    """One traced graph for any batch size, instead of `model.predict`'s per-call overhead."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, input_size, input_size, 3], tf.float32)
    return tf.function(lambda batch: model(batch, training=False), input_signature=[spec])


class KerasRunner:
    """The fallback when the model can't be converted faithfully: a compiled Keras call."""

    name = "keras"
    precision = "float32"

    def __init__(self, h5_path: Path, input_size: int):
        self._call = compiled_call(load_keras_model(h5_path), input_size)
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self._call(np.asarray(batch, dtype=np.float32)))


# Tried in order until one matches the .h5 on the probe batch. The traced call converts in half
# the time (from_keras_model writes and reads back a SavedModel first), but some graphs only
# convert faithfully from the Keras model (the ImageNet model's in-model resize came out NaN).
CONVERTERS = ("traced call", "Keras model")


def convert(model, call, how: str, calibration: np.ndarray | None = None) -> bytes:
    """The TFLite file of the model, converted from `call` (its compiled call) or from the model;
    int8 throughout (float in and out) when calibration photos are given."""
    import tensorflow as tf

    if how == "traced call":
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [call.get_concrete_function()], model
        )
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is None:
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[np.newaxis]] for image in calibration)
    with warnings.catch_warnings():
        # "Statistics for quantized inputs were expected": the input stays float, on purpose.
        warnings.simplefilter("ignore", UserWarning)
        return converter.convert()


def export(h5_path: Path, out: Path, photos: Int8Photos | None = None) -> dict:
    """Convert and check; with `photos`, try an int8 runtime first."""
    artifact = open_artifact(h5_path)
    model = load_keras_model(h5_path)
    probe = probe_batch(artifact.input_size)
    call = compiled_call(model, artifact.input_size)
    expected = np.asarray(call(probe))
    if expected.ndim != 2:
        raise ModelError(
            f"{h5_path} outputs shape {expected.shape[1:]}; expected one row of scores per image"
        )
    check_output_size(artifact.card, expected.shape[1], h5_path)
    meta = {
        "format": FORMAT_VERSION,
        "h5_sha256": artifact.sha256,
        "runtime": KerasRunner.name,
        "probe_outputs": expected.tolist(),
        "versions": _versions(),
    }
    content = _int8(model, call, artifact, photos, meta) if photos is not None else None
    if content is None:
        content = _float(model, call, artifact, meta)
    if content is not None:
        (out / "model.tflite").write_bytes(content)
    (out / "runtime.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def _float(model, call, artifact, meta: dict) -> bytes | None:
    """The first float conversion (CONVERTERS) that matches the .h5 on the probe batch; else
    None, with the reason in meta (the Keras runtime then serves)."""
    for how in CONVERTERS:
        try:
            content = convert(model, call, how)
            difference = probe_difference(TFLiteRunner(content, 1), artifact, meta)
        except Exception as exc:  # a converter failure leaves the next one, then Keras, in charge
            meta["reason"] = f"the TFLite conversion failed ({type(exc).__name__}: {exc})"
            continue
        meta["max_proba_difference"] = difference
        if difference <= PARITY_TOLERANCE:  # False for NaN too
            meta.update(
                runtime=TFLiteRunner.name,
                precision="float32",
                tflite_sha256=sha256_hex(content),
                converter=how,
            )
            meta.pop("reason", None)
            return content
        meta["reason"] = (
            f"the TFLite model differs from the .h5 by {difference:.2g} on the probe batch"
        )
    return None


def _int8(model, call, artifact, photos: Int8Photos, meta: dict) -> bytes | None:
    """The int8 runtime when it answers as the .h5 on the check photos; else None, with the reason
    in meta["int8"]."""
    calibration, check = (np.asarray(part, dtype=np.float32) for part in photos)
    if min(len(calibration), len(check)) < MIN_INT8_PHOTOS:
        meta["int8"] = {
            "reason": f"{len(calibration)} photos to calibrate on and {len(check)} to check on; "
            f"{MIN_INT8_PHOTOS} of each needed"
        }
        return None
    for how in CONVERTERS:
        try:
            content = convert(model, call, how, calibration)
            runner = TFLiteRunner(content, 1)
            actual = artifact.score(runner.run(check))
            break
        except Exception as exc:  # a converter failure leaves the next one, then float, in charge
            meta["int8"] = {"reason": f"the int8 conversion failed ({type(exc).__name__}: {exc})"}
    else:
        return None
    expected = artifact.score(np.asarray(call(check)))
    agreement = answer_agreement(actual, expected, artifact.card)
    meta["int8"] = {
        "calibration_photos": len(calibration),
        "check_photos": len(check),
        "answer_agreement": round(agreement, 4),
        "top_label_agreement": round(
            float(np.mean(actual[0].argmax(1) == expected[0].argmax(1))), 4
        ),
        "max_proba_difference": round(float(np.abs(actual[0] - expected[0]).max()), 4),
    }
    if not agreement >= INT8_AGREEMENT:  # not <: NaN fails too
        meta["int8"]["reason"] = (
            f"the int8 runtime answers as the .h5 on {agreement:.1%} of {len(check)} photos; "
            f"{INT8_AGREEMENT:.0%} needed"
        )
        return None
    meta.update(
        runtime=TFLiteRunner.name,
        precision="int8",
        tflite_sha256=sha256_hex(content),
        converter=how,
        runtime_probe_outputs=runner.run(probe_batch(artifact.input_size)).tolist(),
    )
    meta.pop("reason", None)
    return content


def answer_agreement(actual, expected, card: dict) -> float:
    """The share of photos that the int8 runtime answers as the .h5 (each scored as
    (probabilities, scores, unknown flags)).

    With an unknown rule the answer is the top label, or unknown. Without one (the any-object
    model) it is the DEFAULT_TOP most likely of many classes, among which close kin (Egyptian_cat
    and tabby) swap places on a hair's difference: there each one's top label must be among the
    other's top labels."""
    if marks_unknown(card):
        int8, h5 = (
            np.where(unknown, -1, probs.argmax(1)) for probs, _, unknown in (actual, expected)
        )
        return float(np.mean(int8 == h5))
    int8, h5 = (
        np.argsort(-probs, axis=1, kind="stable")[:, :DEFAULT_TOP]
        for probs, _, _ in (actual, expected)
    )
    return float(np.mean([a[0] in b and b[0] in a for a, b in zip(int8, h5, strict=True)]))


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "ai-edge-litert"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the Keras .h5")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for model.tflite and runtime.json"
    )
    args = parser.parse_args(argv)
    try:
        export(args.model, args.out)
    except ClassifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
