import json
import re

from tests.cli import run_petclf
from tests.imagegen import encode, shape_image


def test_json_output_matches_the_engine(engine, tiny_model, tmp_path):
    photo = tmp_path / "dog.jpg"
    photo.write_bytes(encode(shape_image("dog", 5)))
    done = run_petclf("predict", "--model", tiny_model, "--json", "--top", "2", photo)
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout)
    assert line == {"file": str(photo), **engine.predict_bytes(photo.read_bytes(), top=2).to_dict()}


def test_readable_output_lists_every_label(tiny_model, tmp_path):
    photo = tmp_path / "cat.png"
    photo.write_bytes(encode(shape_image("cat", 5), "PNG"))
    done = run_petclf("predict", "--model", tiny_model, photo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{photo}: ")
    assert all(f". {label}" in done.stdout for label in ("bird", "cat", "dog"))
    assert re.search(r"^1\. (bird|cat|dog) \(\d\.\d{4}\)$", done.stdout, re.M), done.stdout


def test_bad_images_are_reported_one_line_each_and_the_rest_still_run(tiny_model, tmp_path):
    good, text, missing = tmp_path / "good.jpg", tmp_path / "notes.jpg", tmp_path / "missing.jpg"
    good.write_bytes(encode(shape_image("bird", 1)))
    text.write_text("just some text")
    done = run_petclf("predict", "--model", tiny_model, "--json", text, good, missing)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(text), str(good), str(missing)]
    assert "error" in lines[0] and "predictions" in lines[1] and "error" in lines[2]
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 2  # one line per bad image, nothing else
    assert (
        errors[0]
        == f"petclf predict: {text}: This is plain text, not a photo; use JPEG, PNG, GIF, WebP, BMP or TIFF."
    )
    assert errors[1] == f"petclf predict: {missing}: No such file or directory"


def test_missing_model_is_one_clear_line(tmp_path):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(encode(shape_image("cat", 1)))
    done = run_petclf("predict", "--model", tmp_path / "absent.h5", photo)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"petclf predict: error: the model file {tmp_path / 'absent.h5'} does not exist "
        "(train one with `petclf train`, or set PETCLF_MODEL)"
    ]


def test_help_documents_the_options():
    done = run_petclf("predict", "--help")
    assert done.returncode == 0
    assert all(option in done.stdout for option in ("--model", "--top", "--json", "PETCLF_MODEL"))
