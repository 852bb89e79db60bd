"""The model card: schema, atomic writing, clear errors."""

import copy
import json

import pytest

from classifier.card import CardError, card_path, read_card, validate_card, write_card
from classifier.errors import ModelError


@pytest.fixture
def card(tiny_model):
    return copy.deepcopy(read_card(card_path(tiny_model)))


def test_round_trip_and_nothing_left_behind(card, tmp_path):
    path = write_card(card, tmp_path / "m.json")
    assert read_card(path) == json.loads(json.dumps(card))
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_undefined_figures_become_null(card, tmp_path):
    card["test_metrics"]["per_class"]["cat"]["precision"] = float("nan")
    path = write_card(card, tmp_path / "m.json")
    assert json.loads(path.read_text())["test_metrics"]["per_class"]["cat"]["precision"] is None


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.pop("labels"), '"labels" is missing'),
        (lambda c: c.update(input_size="240"), '"input_size" has the wrong type'),
        (lambda c: c.update(labels=["cat", "cat", "dog"]), "unique"),
        (lambda c: c.update(labels=["cat", "dog", "unknown"]), "unknown"),
        (lambda c: c.update(output="scores"), '"output" must be one of'),
        (lambda c: c["unknown"].update(method="entropy"), '"unknown.method"'),
        (lambda c: c["unknown"].pop("threshold"), '"unknown.threshold" is missing'),
        (lambda c: c["unknown"].update(false_accept_rate=1.5), "between 0 and 1"),
        (lambda c: c["test_metrics"]["confusion_matrix"].pop(), "3×3"),
        (lambda c: c["test_metrics"]["per_class"].update(fish={}), "fish"),
        (lambda c: c.update(h5_sha256="abc"), "sha256"),
    ],
)
def test_invalid_cards_are_refused_with_the_reason(card, change, message):
    change(card)
    with pytest.raises(CardError, match=message):
        validate_card(card)


def test_write_refuses_an_invalid_card_and_keeps_the_old_one(card, tmp_path):
    path = write_card(card, tmp_path / "m.json")
    before = path.read_bytes()
    card.pop("labels")
    with pytest.raises(CardError):
        write_card(card, path)
    assert path.read_bytes() == before


def test_reading_problems_name_the_file(tmp_path):
    with pytest.raises(CardError, match="m.json is missing"):
        read_card(tmp_path / "m.json")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(CardError, match="m.json is not valid JSON"):
        read_card(tmp_path / "m.json")
    (tmp_path / "m.json").write_text("[]")
    with pytest.raises(CardError, match="m.json is invalid: the card must be a JSON object"):
        read_card(tmp_path / "m.json")


def test_card_errors_are_model_errors():
    """The inference engine turns ModelError into its own clear error; cards fit into that."""
    assert issubclass(CardError, ModelError)


def test_card_path_sits_beside_the_model():
    assert str(card_path("models/pets.h5")) == "models/pets.json"
