"""The feature cache: computed once per (photo, backbone, input size), reused by every trainer."""

from pathlib import Path

import numpy as np

from classifier.card import card_path, read_card
from tests.conftest import write_split
from tests.training.test_cli import run_cli
from training.features import FeatureCache

DIM = 4


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"photo{n}.bin"
        path.write_bytes(f"photo number {n}".encode())
        paths.append(path)
    return paths


def _vector_of(paths: list[Path]):
    """A stand-in backbone: each photo's vector comes from its bytes, so reads can be checked."""

    def compute(indices: list[int]) -> np.ndarray:
        return np.stack([np.full(DIM, len(paths[i].read_bytes()) + i, np.float32) for i in indices])

    return compute


def test_features_are_computed_once_then_read_back_unchanged(tmp_path):
    paths = _photos(tmp_path / "photos", 5)
    first = FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM)
    computed = first.features(paths, _vector_of(paths))
    assert first.stats() == {"computed": 5, "read": 0}

    again = FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM)
    np.testing.assert_array_equal(again.features(paths, _vector_of(paths)), computed)
    assert again.stats() == {"computed": 0, "read": 5}


def test_another_backbone_or_size_misses_the_cache(tmp_path):
    paths = _photos(tmp_path / "photos", 3)
    FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM).features(paths, _vector_of(paths))
    for identity, size in (("b" * 64, 96), ("a" * 64, 128)):
        other = FeatureCache(tmp_path / "cache", identity, size, DIM)
        other.features(paths, _vector_of(paths))
        assert other.stats() == {"computed": 3, "read": 0}


def test_a_damaged_entry_is_computed_again_and_replaced(tmp_path):
    paths = _photos(tmp_path / "photos", 3)
    FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM).features(paths, _vector_of(paths))
    entries = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 3
    entries[0].write_bytes(b"not numpy at all")
    entries[1].write_bytes(entries[1].read_bytes()[:-6])  # torn
    cache = FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM)
    cache.features(paths, _vector_of(paths))
    assert cache.stats() == {"computed": 2, "read": 1}
    healed = FeatureCache(tmp_path / "cache", "a" * 64, 96, DIM)
    healed.features(paths, _vector_of(paths))
    assert healed.stats() == {"computed": 0, "read": 3}


def test_no_folder_keeps_nothing(tmp_path):
    paths = _photos(tmp_path / "photos", 2)
    for _ in range(2):
        cache = FeatureCache(None, "a" * 64, 96, DIM)
        cache.features(paths, _vector_of(paths))
        assert cache.stats() == {"computed": 2, "read": 0}


def _train(capsys, split: Path, out: Path, cache: Path, weights: str = "none") -> dict:
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        out,
        "--backbone-weights",
        weights,
        "--backbone-size",
        "96",
        "--epochs",
        "0",
        "--head-epochs",
        "2",
        "--feature-cache",
        cache,
        "--quiet",
    )
    assert code == 0, err
    return read_card(card_path(out))["training"]["feature_cache"]


def test_a_second_train_run_computes_no_features_and_other_weights_miss(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=5, test_per_class=1)
    cache = tmp_path / "features"
    train_photos = 5 * 3  # the validation carve-out included

    assert _train(capsys, split, tmp_path / "a.h5", cache) == {
        "computed": train_photos,
        "read": 0,
    }
    assert _train(capsys, split, tmp_path / "b.h5", cache) == {
        "computed": 0,
        "read": train_photos,
    }
    # The same architecture with other weights: its features are not the ones stored.
    from training.export import load_h5
    from training.recipes import backbone_layer

    weights = tmp_path / "other.weights.h5"
    backbone = backbone_layer(load_h5(tmp_path / "a.h5"), "mobilenet_v2")
    backbone.set_weights([w + 0.01 for w in backbone.get_weights()])
    backbone.save_weights(weights)
    assert _train(capsys, split, tmp_path / "c.h5", cache, str(weights)) == {
        "computed": train_photos,
        "read": 0,
    }
