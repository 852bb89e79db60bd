"""With a tags model (PETCLF_TAGS_MODEL), the API's prediction gains "tags" and the page shows chips."""

import re

import pytest

from classifier.card import card_path, read_card
from tests.training.test_tags import backbone_weights, mosaics, tags_model  # noqa: F401
from tests.webapp.conftest import multipart
from training.tag_labels import read_tag_labels
from webapp import create_app


@pytest.fixture
def tagging_client(tiny_model, tags_model, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PETCLF_TAGS_MODEL", str(tags_model[0]))
    return create_app(model=tiny_model, max_upload_mb=1).test_client()


def _expected(labels, row: int) -> set[str]:
    return {tag for tag, has in zip(labels.tags, labels.targets[row]) if has}


def test_the_api_answers_the_tags_above_their_thresholds(tagging_client, tags_model, mosaics):  # noqa: F811
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    thresholds = read_card(card_path(tags_model[0]))["tags"]["thresholds"]
    right = 0
    for row, path in enumerate(labels.paths[:10]):
        answer = tagging_client.post("/api/v1/predict", data=multipart(path.read_bytes()))
        assert answer.status_code == 200
        shown = answer.get_json()
        assert list(shown)[:3] == ["predictions", "label", "unknown"]
        assert all(tag["proba"] >= thresholds[tag["tag"]] for tag in shown["tags"])
        right += {tag["tag"] for tag in shown["tags"]} == _expected(labels, row)
    assert right >= 8


def test_the_page_shows_the_tags_as_chips(tagging_client, mosaics):  # noqa: F811
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    page = tagging_client.post("/", data=multipart(labels.paths[0].read_bytes())).get_data(
        as_text=True
    )
    chips = set(re.findall(r'class="chip" data-tag="([^"]+)"', page))
    assert chips and chips <= set(labels.tags)


def test_without_a_tags_model_there_are_no_tags(client, mosaics):  # noqa: F811
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    answer = client.post("/api/v1/predict", data=multipart(labels.paths[0].read_bytes()))
    assert "tags" not in answer.get_json()
    page = client.post("/", data=multipart(labels.paths[0].read_bytes())).get_data(as_text=True)
    assert 'class="chip"' not in page
