"""The any-object mode: models/imagenet.h5 served by every front end, as the original bot's server
did (the top five of the 1,000 ImageNet classes), with the same answer everywhere."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.replies import predictions_text
from classifier.card import card_path, read_card
from tests.bot.processes import start_tcp_server
from tests.bot.test_tcp_server import original_client
from tests.imagegen import encode, shape_image

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "imagenet.h5"
LINE = re.compile(r"^[1-5]\. \S+ \(\d\.\d{4}\)$")

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"needs {MODEL}")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "drawing.jpg"
    path.write_bytes(encode(shape_image("cat", 3, size=(400, 300)), "JPEG", quality=90))
    return path


@pytest.fixture(scope="module")
def predicted(photo) -> tuple[dict, str]:
    """(`petclf predict --json` answer, `petclf predict` text) for the photo; the first run builds the runtime."""
    runs = [
        subprocess.run(
            [sys.executable, "-m", "petclf", "predict", "--model", MODEL, *flags, photo],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO,
        )
        for flags in (["--json"], [])
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    return json.loads(runs[0].stdout), runs[1].stdout


def test_the_card_lists_the_imagenet_classes_and_marks_nothing_unknown():
    card = read_card(card_path(MODEL))
    assert len(card["labels"]) == 1000 and card["labels"][285] == "Egyptian_cat"
    assert card["unknown"]["method"] == "max_softmax" and card["unknown"]["threshold"] == 0.0
    assert (
        (REPO / "models" / "imagenet.LICENSE").read_text().startswith("Apache Software License 2.0")
    )


def test_predict_prints_the_original_servers_five_lines(predicted, photo):
    answer, text = predicted
    lines = text.splitlines()
    assert lines[0] == f"{photo}: {answer['predictions'][0]['label']}"
    assert len(lines) == 6 and all(LINE.match(line) for line in lines[1:]), text
    assert lines[1:] == [
        f"{rank}. {p['label']} ({p['proba']:.4f})"
        for rank, p in enumerate(answer["predictions"], 1)
    ]
    assert answer["unknown"] is False and answer["label"] == answer["predictions"][0]["label"]
    probas = [p["proba"] for p in answer["predictions"]]
    assert probas == sorted(probas, reverse=True) and 0 < sum(probas) <= 1.0001


def test_the_tcp_server_answers_an_original_client_and_the_bot_replies_the_same_lines(
    predicted, photo, tmp_path
):
    answer, text = predicted
    server, port = start_tcp_server(MODEL, tmp_path / "server.log")
    try:
        reply = original_client(port, photo.read_bytes(), 1821266651)
    finally:
        server.stop()
    assert reply["chat_id"] == 1821266651
    assert reply["predictions"] == answer["predictions"]
    assert predictions_text(reply) == "\n".join(text.splitlines()[1:])


def test_the_api_serves_it_through_petclf_model(predicted, photo, monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("PETCLF_MODEL", str(MODEL))
    client = create_app().test_client()
    by_form = client.post("/api/v1/predict", data={"file": (photo.open("rb"), photo.name)}).json
    by_json = client.post(
        "/api/v1/predict", json={"image": base64.b64encode(photo.read_bytes()).decode()}
    ).json
    # Each answer has its own prediction id, for corrections and heat maps; the rest is the CLI's.
    assert by_form.pop("id") != by_json.pop("id")
    assert {"file": str(photo), **by_form} == {"file": str(photo), **by_json} == predicted[0]
    assert len(client.get("/api/v1/model").json["labels"]) == 1000
