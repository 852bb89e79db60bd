"""The pure parts of tags models: threshold tuning, the evaluation figures, the --hidden flag."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from training.tag_commands import hidden_layers
from training.tag_metrics import DEFAULT_THRESHOLD, tag_figures, tune_thresholds


def test_each_threshold_gives_its_tag_the_best_f1_on_the_photos_it_was_tuned_on():
    rng = np.random.default_rng(0)
    truth = (rng.random((60, 3)) < 0.4).astype(np.float32)
    scores = np.clip(truth * 0.5 + rng.random((60, 3)) * 0.6, 0, 1)
    thresholds, f1s = tune_thresholds(truth, scores)
    for column in range(3):
        best = max(
            f1_score(truth[:, column], scores[:, column] >= cut)
            for cut in np.unique(scores[:, column])
        )
        chosen = f1_score(truth[:, column], scores[:, column] >= thresholds[column])
        assert chosen == pytest.approx(best) == pytest.approx(f1s[column], abs=1e-4)


def test_a_tag_without_a_positive_photo_keeps_the_default_threshold():
    thresholds, f1s = tune_thresholds(np.zeros((4, 1)), np.array([[0.1], [0.9], [0.4], [0.2]]))
    assert thresholds[0] == DEFAULT_THRESHOLD and f1s == [None]


def test_figures_match_scikit_learn_and_precision_at_k_counts_true_tags_among_the_top_k():
    truth = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], np.float32)
    scores = np.array(
        [[0.9, 0.2, 0.6], [0.3, 0.8, 0.4], [0.7, 0.1, 0.65], [0.2, 0.3, 0.1]], np.float32
    )
    figures = tag_figures(truth, scores, np.full(3, 0.5), ["a", "b", "c"])
    expected_ap = [average_precision_score(truth[:, c], scores[:, c]) for c in range(3)]
    assert figures["mAP"] == pytest.approx(np.mean(expected_ap), abs=1e-4)
    assert figures["micro_f1"] == pytest.approx(
        f1_score(truth, scores >= 0.5, average="micro"), abs=1e-4
    )
    assert figures["precision_at_1"] == pytest.approx(3 / 4)  # the last row's top tag is wrong
    assert figures["precision_at_3"] == pytest.approx(truth.sum() / 12)
    assert figures["per_tag"]["b"]["photos"] == 2


def test_hidden_layers_flag():
    assert hidden_layers("1500") == (1500,)
    assert hidden_layers("1500,500") == (1500, 500)
    assert hidden_layers("") == ()
