import io
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from classifier import ClassifierError, ModelError, Prediction, load_engine
from classifier.runtime import runtime_paths
from preprocessing import ImageError, load_padded, to_array
from tests.imagegen import encode, shape_image

LABELS = ["bird", "cat", "dog"]


def test_engine_reads_the_card_and_uses_the_tflite_runtime(engine, tiny_model):
    assert engine.labels == LABELS == engine.card["labels"]
    assert engine.runtime == "tflite"
    tflite, meta = runtime_paths(tiny_model)
    assert tflite.is_file()
    assert json.loads(meta.read_text())["h5_sha256"] == engine.card["h5_sha256"]


def test_prediction_shape_and_order(engine):
    prediction = engine.predict_bytes(encode(shape_image("cat", 3)), top=5)
    assert isinstance(prediction, Prediction)
    probabilities = [proba for _, proba in prediction.top]
    assert sorted(probabilities, reverse=True) == probabilities
    assert sorted(label for label, _ in prediction.top) == LABELS  # top 5 of 3 labels: all of them
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    as_json = prediction.to_dict()
    assert set(as_json) == {"predictions", "label", "unknown"}
    assert as_json["predictions"][0] == {
        "label": prediction.top[0][0],
        "proba": round(prediction.top[0][1], 4),
    }
    assert as_json["label"] == ("unknown" if prediction.unknown else prediction.top[0][0])


def test_top_limits_the_labels(engine):
    assert len(engine.predict_bytes(encode(shape_image("dog", 1)), top=1).top) == 1


def test_engine_agrees_with_the_keras_model(engine, tiny_model):
    import keras

    from classifier import scoring

    images = [
        load_padded(encode(shape_image(label, seed))) for label in LABELS for seed in range(3)
    ]
    batch = np.stack([to_array(image) for image in images])
    expected = scoring.probabilities(
        np.asarray(keras.models.load_model(tiny_model, compile=False)(batch, training=False))
    )
    for prediction, row in zip(engine.predict_batch(images, top=3), expected):
        got = dict(prediction.top)
        assert max(abs(got[label] - row[i]) for i, label in enumerate(LABELS)) <= 1e-4
        assert prediction.top[0][0] == LABELS[int(row.argmax())]


def test_tiny_model_recognises_shapes(engine):
    images = [
        load_padded(encode(shape_image(label, 100 + seed))) for label in LABELS for seed in range(5)
    ]
    truth = [label for label in LABELS for _ in range(5)]
    right = sum(p.top[0][0] == label for p, label in zip(engine.predict_batch(images), truth))
    assert right >= 10  # chance is 5 of 15


def test_batch_equals_one_by_one(engine):
    images = [load_padded(encode(shape_image(label, 7))) for label in LABELS]
    assert engine.predict_batch(images) == [engine.predict_image(image) for image in images]
    assert engine.predict_batch([]) == []


def test_unpadded_image_is_fitted_first(engine):
    wide = shape_image("dog", 2, size=(600, 300))
    assert engine.predict_image(wide) == engine.predict_image(load_padded(encode(wide, "PNG")))


def test_threads_get_the_same_answers(engine):
    images = [encode(shape_image(LABELS[n % 3], n)) for n in range(12)]
    expected = [engine.predict_bytes(data) for data in images]
    results, errors = {}, []

    def work(worker):
        try:
            for _ in range(3):
                for n, data in enumerate(images):
                    results[(worker, n)] = engine.predict_bytes(data)
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(results[(w, n)] == expected[n] for w in range(6) for n in range(len(images)))


# Each unusual encoding comes with the plain RGB picture it shows once decoded as a viewer would.
def _cmyk_jpeg():
    image = shape_image("cat", 1)
    return encode(image.convert("CMYK"), "JPEG", quality=95), image


def _sixteen_bit_png():
    grey = shape_image("bird", 1).convert("L")
    wide = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)
    assert wide.mode == "I;16"
    return encode(wide, "PNG"), grey.convert("RGB")


def _palette_transparent_png():
    image = shape_image("dog", 1).convert("P", palette=Image.Palette.ADAPTIVE)
    image.info["transparency"] = 0
    on_white = Image.new("RGBA", image.size, "white")
    on_white.alpha_composite(image.convert("RGBA"))
    return encode(image, "PNG", transparency=0), on_white.convert("RGB")


def _animated_gif():
    frames = [shape_image(label, 2) for label in ("cat", "dog", "bird")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    # the first frame
    return buffer.getvalue(), Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _rotated_phone_jpeg():
    image = shape_image("dog", 4, size=(400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # the phone was turned: show it rotated 90° clockwise
    return encode(image, "JPEG", quality=95, exif=exif.tobytes()), image.transpose(
        Image.Transpose.ROTATE_270
    )


@pytest.mark.parametrize(
    "make",
    [_cmyk_jpeg, _sixteen_bit_png, _palette_transparent_png, _animated_gif, _rotated_phone_jpeg],
)
def test_unusual_but_valid_photos_are_classified_as_the_picture_they_show(engine, make):
    data, picture = make()
    got, expected = engine.predict_bytes(data), engine.predict_bytes(encode(picture, "PNG"))
    assert [label for label, _ in got.top] == [label for label, _ in expected.top]
    assert dict(got.top) == pytest.approx(dict(expected.top), abs=0.03)  # JPEG's losses only


@pytest.mark.parametrize(
    "data", [b"", b"hello, not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>"]
)
def test_bad_bytes_raise_image_errors(engine, data):
    with pytest.raises(ImageError):
        engine.predict_bytes(data)


def test_truncated_jpeg_raises_image_error(engine):
    data = encode(shape_image("cat", 1, size=(800, 600)), quality=95)
    with pytest.raises(ImageError):
        engine.predict_bytes(data[: len(data) // 2])


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelError, match="nowhere.h5"):
        load_engine(tmp_path / "nowhere.h5")


def test_missing_card_names_the_card(model_copy):
    model_copy.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="model.json"):
        load_engine(model_copy)


def test_card_of_another_model_is_refused(model_copy):
    with open(model_copy, "ab") as handle:
        handle.write(b"\0")  # a different file than the card describes
    with pytest.raises(ModelError, match="doesn't match its card"):
        load_engine(model_copy)


def test_not_a_model_is_refused_with_its_name(model_copy):
    from classifier.card import sha256_file

    model_copy.write_bytes(b"not an HDF5 file")
    card = json.loads(model_copy.with_suffix(".json").read_text())
    card["h5_sha256"] = sha256_file(model_copy)
    model_copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ClassifierError, match="model.h5"):
        load_engine(model_copy)


def test_stale_or_damaged_runtime_is_rebuilt(model_copy):
    tflite, meta = runtime_paths(model_copy)
    first = load_engine(model_copy).predict_bytes(encode(shape_image("cat", 1)))
    recorded = json.loads(meta.read_text())
    meta.write_text(json.dumps({**recorded, "h5_sha256": "0" * 64}))  # as if built from another .h5
    tflite.write_bytes(b"damaged")
    assert load_engine(model_copy).predict_bytes(encode(shape_image("cat", 1))) == first
    assert json.loads(meta.read_text())["h5_sha256"] == recorded["h5_sha256"]
    assert tflite.read_bytes() != b"damaged"


def test_runtime_that_disagrees_with_the_h5_is_not_used(model_copy):
    engine = load_engine(model_copy)
    expected = engine.predict_bytes(encode(shape_image("dog", 1)))
    _, meta = runtime_paths(model_copy)
    recorded = json.loads(meta.read_text())
    # The probe check compares the runtime to the recorded Keras outputs; make them disagree.
    recorded["probe_outputs"] = (np.asarray(recorded["probe_outputs"]) + [1.0, 0.0, 0.0]).tolist()
    meta.write_text(json.dumps(recorded))
    fallback = load_engine(model_copy)
    assert fallback.runtime == "keras"
    got = fallback.predict_bytes(encode(shape_image("dog", 1)))
    assert got.top[0][0] == expected.top[0][0]
    assert max(abs(a[1] - b[1]) for a, b in zip(got.top, expected.top)) <= 1e-4


LOAD_AND_REPORT = """
import json, sys
from classifier import load_engine
engine = load_engine(sys.argv[1])
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "runtime": engine.runtime}))
"""


def test_concurrent_processes_build_once_and_reuse_without_tensorflow(model_copy):
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_AND_REPORT, str(model_copy)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [process.communicate(timeout=300) for process in starts]
    assert all(process.returncode == 0 for process in starts), outcomes
    assert sum("Preparing the fast runtime" in stderr for _, stderr in outcomes) == 1
    assert all(
        json.loads(stdout) == {"tensorflow": False, "runtime": "tflite"} for stdout, _ in outcomes
    )
