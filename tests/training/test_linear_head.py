"""The linear cross-fitted head (logistic regression on unit-length features) and mirrored rows."""

import numpy as np

from training import data, heads


def _arrays(features: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple:
    weights = (
        np.ones(num_classes) if (labels < 0).all() else data.class_weights(labels, num_classes)
    )
    return (
        features.astype(np.float32),
        data.soft_targets(labels, num_classes),
        data.sample_weights(labels, weights, 1.0),
    )


def _cross_fit_linear(train: tuple, ood: tuple | None, **options) -> heads.CrossFitted:
    return heads.cross_fit(
        train, ood, epochs=1, learning_rate=1e-3, seed=1, head="linear", **options
    )


def test_the_linear_head_separates_directions_whatever_the_features_length():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 6)
    directions = rng.normal(size=(3, 32))
    features = np.abs(directions[labels] + 0.3 * rng.normal(size=(18, 32)))
    # lengths a hundred times apart: the features' length is not what tells the classes apart
    features *= rng.uniform(0.1, 10, size=(18, 1))

    fitted = _cross_fit_linear(_arrays(features, labels, 3), None, heads=3)

    assert (fitted.class_logits.argmax(axis=1) == labels).all()
    # the model serves one head, fitted on every fold
    (served,) = fitted.served
    assert (np.asarray(served(features)).argmax(axis=1) == labels).all()
    model = fitted.heads[0]
    np.testing.assert_allclose(
        np.asarray(model(features[:4] * 7.0)), np.asarray(model(features[:4])), rtol=1e-4, atol=1e-4
    )
    # one history row per head, with the losses of both sides
    assert [row["phase"] for row in fitted.history] == ["head 1", "head 2", "head 3"]
    assert all(
        row["loss"] < row["val_loss"] + 1.0 and row["accuracy"] == 1.0 for row in fitted.history
    )


def test_outlier_rows_flatten_the_linear_heads_output():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(2), 10)
    features = np.abs(np.eye(3)[labels] + 0.05 * rng.normal(size=(20, 3)))
    outliers = np.abs(np.eye(3)[np.full(10, 2)] + 0.05 * rng.normal(size=(10, 3)))
    ood = _arrays(outliers, -np.ones(10, np.int64), 2)

    fitted = _cross_fit_linear(_arrays(features, labels, 2), ood, heads=2)

    def top_probability(logits):
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).max(axis=1)

    assert top_probability(fitted.ood_logits).max() < 0.6  # near 1/2: neither class
    assert top_probability(fitted.class_logits).min() > 0.9


def test_a_mirrored_row_trains_only_the_heads_that_train_on_its_photo():
    """Features without any class signal, and mirror images almost equal to their photos: a head
    that had trained on the mirror image of a photo it scores would know its label (C is large)."""
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 20)
    features = np.abs(rng.normal(size=(60, 64)))
    mirrored = features + 1e-3 * np.abs(rng.normal(size=features.shape))

    fitted = _cross_fit_linear(
        _arrays(features, labels, 3), None, heads=5, mirrored=mirrored.astype(np.float32)
    )

    # chance is 1/3; a leak would make it near 1
    assert (fitted.class_logits.argmax(axis=1) == labels).mean() < 0.6
    # and the mirrored rows did train the heads: each head fits its own photos' mirrors
    for head in fitted.heads:
        assert (np.asarray(head(mirrored.astype(np.float32))).argmax(axis=1) == labels).mean() > 0.7


def test_mirrored_features_are_the_flipped_photos_and_cached_beside_their_own(tmp_path):
    from tests.conftest import TINY_LABELS
    from tests.imagegen import shape_image
    from training import recipes
    from training.train import feature_cache, pooled_features

    built = recipes.build(
        "mobilenet_v2", len(TINY_LABELS), backbone_weights="none", backbone_size=96, seed=1
    )
    paths, pixels = [], []
    for n, label in enumerate(TINY_LABELS):
        image = shape_image(label, seed=n)
        paths.append(tmp_path / f"{label}.png")
        image.save(paths[-1])
        pixels.append(np.asarray(image, np.uint8))
    images = data.Images(np.stack(pixels), np.arange(len(paths)), paths, [])
    cache = feature_cache(tmp_path / "features", "mobilenet_v2", 96, built)

    own = pooled_features(cache, built, 8, images)
    mirrored = pooled_features(cache, built, 8, images, mirrored=True)

    flipped = heads.predict(built.features, images.pixels[:, :, ::-1].copy(), 8)
    np.testing.assert_allclose(mirrored, flipped, rtol=1e-3, atol=1e-15)
    assert not np.allclose(own, mirrored, rtol=1e-2, atol=0)  # the shapes are not symmetric
    assert cache.stats() == {"computed": 2 * len(paths), "read": 0}
    assert len(list((tmp_path / "features").rglob("*-mirrored.npy"))) == len(paths)
    again = pooled_features(cache, built, 8, images, mirrored=True)
    np.testing.assert_array_equal(again, mirrored)
    assert cache.stats() == {"computed": 2 * len(paths), "read": len(paths)}
