"""train(config, log, progress): the progress callback the job runner shows to users."""

import numpy as np

from tests.conftest import TINY_LABELS, write_ood, write_split
from training import data, heads
from training.train import TrainConfig, train


def test_train_reports_loading_each_epoch_evaluating_and_saving(tmp_path):
    split = write_split(tmp_path / "split", train_per_class=8, test_per_class=3)
    ood = write_ood(tmp_path / "ood", count=6)
    calls = []
    train(
        TrainConfig(
            data=split,
            out=tmp_path / "m.h5",
            arch="tiny_cnn",
            epochs=3,
            batch_size=8,
            patience=5,
            ood=ood,
            verbose=0,
        ),
        log=lambda message: None,
        progress=lambda *call: calls.append(call),
    )

    loading = [call for call in calls if call[0] == "loading"]
    total = 3 * (8 + 3) + 6
    assert {call[2] for call in loading} == {total}
    assert [call[1] for call in loading] == sorted(call[1] for call in loading)
    assert loading[-1][1] == total

    epochs = [call for call in calls if call[0] == "train"]
    assert [call[1:3] for call in epochs] == [(1, 3), (2, 3), (3, 3)]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[0][3])
    assert all(np.isfinite(value) for call in epochs for value in call[3].values())

    assert calls[-2:] == [("evaluating", 0, 1, {}), ("saving", 0, 1, {})]
    assert calls.index(loading[-1]) < calls.index(epochs[0])


def test_cross_fit_reports_each_heads_epochs_as_head_k_of_k():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(TINY_LABELS)), 6)
    features = rng.normal(size=(len(labels), 8)).astype(np.float32) + labels[:, None]
    arrays = (
        features,
        data.soft_targets(labels, len(TINY_LABELS)),
        np.ones(len(labels), np.float32),
    )
    calls = []

    heads.cross_fit(
        arrays,
        None,
        heads=2,
        epochs=3,
        learning_rate=1e-2,
        seed=1,
        progress=lambda *call: calls.append(call),
    )

    assert [call[:3] for call in calls] == [
        ("head 1/2", 1, 3),
        ("head 1/2", 2, 3),
        ("head 1/2", 3, 3),
        ("head 2/2", 1, 3),
        ("head 2/2", 2, 3),
        ("head 2/2", 3, 3),
    ]
    assert all("val_loss" in call[3] for call in calls)
