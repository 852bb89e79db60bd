"""Shared fixtures: a tiny model trained in-session through the real training code.

    def test_something(tiny_model):          # Path of tiny.h5; tiny.json (the card) beside it
        engine = load_engine(tiny_model)

The model knows three generated-shape classes (labels bird, cat, dog from tests/imagegen.py).
"""

import random
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.imagegen import encode, shape_image, write_class_folders
from tests.stored_state import fresh_home

pytest_plugins = ["tests.services"]  # redis_url, postgres_url: real servers, started on demand

TINY_LABELS = ("bird", "cat", "dog")


def write_split(root: Path, train_per_class: int = 30, test_per_class: int = 10) -> Path:
    """A split folder like `petclf split` writes: root/{train,test}/<label>/<label><n>.png."""
    write_class_folders(root / "train", train_per_class, TINY_LABELS)
    # Test images use other seeds than train images, so they are different drawings.
    for label in TINY_LABELS:
        folder = root / "test" / label
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(test_per_class):
            image = shape_image(label, seed=10_000 + n)
            (folder / f"{label}{n + 1}.png").write_bytes(encode(image, "PNG"))
    return root


def write_ood(root: Path, count: int = 12) -> Path:
    """Photos that are none of the classes: grey scribbles on plain backgrounds, two kinds of folder."""
    for n in range(count):
        rng = random.Random(f"ood-{n}")
        image = Image.new(
            "RGB",
            (rng.randint(120, 320), rng.randint(120, 320)),
            tuple(rng.randint(0, 255) for _ in range(3)),
        )
        draw = ImageDraw.Draw(image)
        for _ in range(5):
            points = [(rng.randrange(image.width), rng.randrange(image.height)) for _ in range(2)]
            draw.line(points, fill=(128, 128, 128), width=rng.randint(2, 8))
        folder = root / ("plain" if n % 2 else "scribble")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"ood{n}.jpg").write_bytes(encode(image, "JPEG", quality=90))
    return root


@pytest.fixture(scope="session")
def tiny_training_data(tmp_path_factory) -> tuple[Path, Path]:
    """(split folder, OOD folder) of generated images, shared by the session."""
    root = tmp_path_factory.mktemp("tiny_data")
    return write_split(root / "split"), write_ood(root / "ood")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_training_data) -> Path:
    """The .h5 of a tiny CNN trained on generated shapes, with its card (tiny.json) beside it."""
    from training.train import TrainConfig, train

    split, ood = tiny_training_data
    out = tmp_path_factory.mktemp("tiny_model") / "tiny.h5"
    train(
        TrainConfig(
            data=split,
            out=out,
            arch="tiny_cnn",
            epochs=12,
            batch_size=16,
            seed=1,
            ood=ood,
            verbose=0,
        ),
        log=lambda message: None,
    )
    return out


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("petclf_home")


@pytest.fixture(autouse=True)
def _home_outside_the_checkout(shared_home, monkeypatch):
    """No test writes the checkout's var/: PETCLF_HOME is a temporary folder unless a test sets its own."""
    monkeypatch.setenv("PETCLF_HOME", str(shared_home))


@pytest.fixture(scope="session")
def base_model(tmp_path_factory, tiny_training_data) -> Path:
    """A small transfer-learning model to stand in for the shipped one, whose backbone projects
    train on: the shipped model's architecture at 96 px with its own backbone weights, two heads."""
    from classifier.card import card_path, read_card
    from jobs.backbone import save_backbone_weights
    from training.train import TrainConfig, train

    root = tmp_path_factory.mktemp("base_model")
    weights = root / "backbone.weights.h5"
    save_backbone_weights(Path("models/pets.h5"), weights)
    split, ood = tiny_training_data
    out = root / "base.h5"
    train(
        TrainConfig(
            data=split,
            out=out,
            arch=read_card(card_path("models/pets.h5"))["architecture"],
            backbone_weights=str(weights),
            backbone_size=96,
            epochs=0,
            heads=2,
            head_epochs=20,
            ood=ood,
            verbose=0,
        ),
        log=lambda message: None,
    )
    return out


@pytest.fixture
def petclf_home(tmp_path, monkeypatch, base_model) -> Path:
    """An empty PETCLF_HOME (SQLite store and queue inside it) with the base model as the shipped one."""
    return fresh_home(tmp_path, monkeypatch, model=base_model)


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    """The tiny model (.h5 + card, no cached runtime) in a folder of its own, free to tamper with."""
    for suffix in (".h5", ".json"):
        shutil.copy(tiny_model.with_suffix(suffix), tmp_path / f"model{suffix}")
    return tmp_path / "model.h5"
