import base64

import pytest

from classifier import ModelError
from tests.webapp.conftest import BAD_FILES, cat_jpeg, multipart
from webapp import create_app

LABELS = {"bird", "cat", "dog"}


def assert_prediction(body: dict) -> None:
    assert list(body) == ["predictions", "label", "unknown", "id"]  # id: kept for corrections
    assert {p["label"] for p in body["predictions"]} == LABELS
    assert body["label"] in LABELS | {"unknown"}
    probabilities = [p["proba"] for p in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1, abs=1e-3)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10
    return error


def test_predict_multipart(client):
    response = client.post("/api/v1/predict", data=multipart(cat_jpeg()))
    assert response.status_code == 200
    assert_prediction(response.json)
    assert response.headers["Cache-Control"] == "no-store"


def test_predict_json_base64_gives_the_same_answer(client):
    def answer(**sent) -> dict:
        body = client.post("/api/v1/predict", **sent).json
        del body["id"]  # each prediction served has an id of its own
        return body

    by_form = answer(data=multipart(cat_jpeg()))
    encoded = base64.b64encode(cat_jpeg()).decode()
    assert answer(json={"image": encoded}) == by_form
    data_url = "data:image/jpeg;base64," + encoded
    assert answer(json={"image": data_url, "chat_id": 7}) == by_form
    # MIME style: a line break every 76 characters
    wrapped = base64.encodebytes(cat_jpeg()).decode()
    assert answer(json={"image": wrapped}) == by_form


def test_top_parameter(client):
    body = client.post("/api/v1/predict?top=1", data=multipart(cat_jpeg())).json
    assert len(body["predictions"]) == 1
    assert_error(
        client.post("/api/v1/predict?top=0", data=multipart(cat_jpeg())), 400, "invalid_top"
    )
    assert_error(
        client.post("/api/v1/predict?top=many", data=multipart(cat_jpeg())), 400, "invalid_top"
    )


def test_model_card(client, tiny_model):
    import json

    assert client.get("/api/v1/model").json == json.loads(
        tiny_model.with_suffix(".json").read_text()
    )


def test_healthz(client, app):
    body = client.get("/healthz").json
    assert body["status"] == "ok"
    assert body["runtime"] == "tflite" and body["precision"] == "float32"
    assert body["h5_sha256"] == app.extensions["petclf_engine"].card["h5_sha256"]


def _sample(text: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_requests_predictions_errors_and_latency(client):
    label = client.post("/api/v1/predict", data=multipart(cat_jpeg())).json["label"]
    client.post("/api/v1/predict", data=multipart(cat_jpeg()))
    client.post("/api/v1/predict", json={"image": "%%%"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _sample(text, "petclf_http_requests_total", endpoint="api.predict", status="200") == 2
    assert _sample(text, "petclf_http_requests_total", endpoint="api.predict", status="400") == 1
    assert _sample(text, "petclf_predictions_total", label=label) == 2
    assert _sample(text, "petclf_errors_total", code="invalid_base64") == 1
    assert _sample(text, "petclf_http_request_duration_seconds_count", endpoint="api.predict") == 3


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_multipart_and_base64(client, name):
    data, status, code, words = BAD_FILES[name]
    error = assert_error(client.post("/api/v1/predict", data=multipart(data)), status, code)
    assert words in error["message"]
    if data:
        as_json = client.post("/api/v1/predict", json={"image": base64.b64encode(data).decode()})
        assert assert_error(as_json, status, code) == error
    # still serving
    assert client.post("/api/v1/predict", data=multipart(cat_jpeg())).status_code == 200


def test_no_file(client):
    assert_error(client.post("/api/v1/predict", data={"other": "field"}), 400, "no_file")
    assert_error(
        client.post("/api/v1/predict", data={}, content_type="multipart/form-data"), 400, "no_file"
    )
    assert_error(client.post("/api/v1/predict"), 400, "no_file")


def test_upload_over_the_limit_is_413(client):
    too_big = b"\xff\xd8" + bytes(1024 * 1024 + 1)  # the app fixture allows 1 MB
    error = assert_error(
        client.post("/api/v1/predict", data=multipart(too_big)), 413, "upload_too_large"
    )
    assert "1 MB" in error["message"]
    encoded = base64.b64encode(too_big).decode()
    assert_error(client.post("/api/v1/predict", json={"image": encoded}), 413, "upload_too_large")


def test_upload_limit_from_environment(tiny_model, monkeypatch):
    monkeypatch.setenv("PETCLF_MAX_UPLOAD_MB", "0.01")
    client = create_app(model=tiny_model).test_client()
    assert_error(
        client.post("/api/v1/predict", data=multipart(cat_jpeg() + bytes(20_000))),
        413,
        "upload_too_large",
    )


@pytest.mark.parametrize(
    "body, code",
    [
        ("{not json", "invalid_json"),
        ('{"photo": "aGVsbG8="}', "missing_image"),
        ('["aGVsbG8="]', "missing_image"),
        ('{"image": 12}', "invalid_image_field"),
        ('{"image": "not base64!!"}', "invalid_base64"),
        ('{"image": "aGVsbG8"}', "invalid_base64"),
        ('{"image": ""}', "empty_file"),
    ],
)
def test_bad_json(client, body, code):
    assert_error(
        client.post("/api/v1/predict", data=body, content_type="application/json"), 400, code
    )


def test_wrong_content_type(client):
    assert_error(
        client.post("/api/v1/predict", data=cat_jpeg(), content_type="image/jpeg"),
        415,
        "unsupported_media_type",
    )


def test_wrong_method(client):
    error = assert_error(client.get("/api/v1/predict"), 405, "method_not_allowed")
    assert "POST" in error["message"]
    assert_error(client.delete("/api/v1/model"), 405, "method_not_allowed")
    assert "POST" in client.get("/api/v1/predict").headers["Allow"]


def test_unknown_api_path(client):
    assert_error(client.get("/api/v1/nothing"), 404, "not_found")


def test_unknown_label_in_json(unknown_model):
    body = (
        create_app(model=unknown_model)
        .test_client()
        .post("/api/v1/predict", data=multipart(cat_jpeg()))
        .json
    )
    assert body["label"] == "unknown" and body["unknown"] is True
    assert {p["label"] for p in body["predictions"]} == LABELS


def test_missing_model_refuses_to_start(tmp_path):
    with pytest.raises(ModelError, match="absent.h5"):
        create_app(model=tmp_path / "absent.h5")


def test_model_path_from_environment(tiny_model, monkeypatch):
    monkeypatch.setenv("PETCLF_MODEL", str(tiny_model))
    assert create_app().test_client().get("/healthz").json["model"] == "tiny"


def test_bad_upload_limit_setting(tiny_model, monkeypatch):
    from webapp.errors import ConfigError

    monkeypatch.setenv("PETCLF_MAX_UPLOAD_MB", "ten")
    with pytest.raises(ConfigError, match="PETCLF_MAX_UPLOAD_MB"):
        create_app(model=tiny_model)
