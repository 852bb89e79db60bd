"""What the CLI prints for an error: our errors as their one line, anything else as unexpected."""

import importlib

import pytest

from classifier.scoring import ScoringError
from petclf.cli import describe_error
from petclf.errors import PetclfError

BASE_ERRORS = {
    "bot": "BotError",
    "classifier": "ClassifierError",
    "scraping": "ScrapeError",
    "preprocessing": "PreprocessingError",
    "training": "TrainingError",
    "webapp": "WebappError",
    "projects": "ProjectError",
    "library": "LibraryError",
    "jobs": "JobError",
    "store": "StoreError",
}


@pytest.mark.parametrize("package, name", BASE_ERRORS.items())
def test_every_package_base_error_is_a_petclf_error(package, name):
    base = getattr(importlib.import_module(f"{package}.errors"), name)
    assert issubclass(base, PetclfError)
    assert describe_error(base("the photo folder is empty")) == "the photo folder is empty"


def test_a_scoring_error_is_a_user_error():
    assert (
        describe_error(ScoringError("the temperature must be positive, got 0"))
        == "the temperature must be positive, got 0"
    )


def test_anything_else_is_unexpected():
    assert describe_error(KeyError("card")).startswith("unexpected KeyError: 'card'")
