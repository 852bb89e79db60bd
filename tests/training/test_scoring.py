"""The unknown decision shared by calibration and inference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import scoring

LOGITS = np.array([[4.0, 1.0, 0.0], [0.2, 0.1, 0.0], [-1.0, 3.0, 2.9]])


def test_probabilities_are_a_softmax_over_the_labels():
    probs = scoring.probabilities(LOGITS)
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == LOGITS.argmax(axis=1)).all()
    assert np.allclose(scoring.probabilities(probs, "probabilities"), probs)
    # one image may come as a 1-D vector
    assert np.allclose(scoring.probabilities(LOGITS[0]), probs[:1])


def test_scores_rank_a_confident_output_above_a_flat_one():
    for method in scoring.SCORE_METHODS:
        scores = scoring.confidence(LOGITS, method)
        assert scores[0] > scores[1], method


def test_energy_lies_between_max_logit_and_max_logit_plus_log_k():
    energy = scoring.confidence(LOGITS, "energy")
    max_logit = scoring.confidence(LOGITS, "max_logit")
    assert (energy >= max_logit).all()
    assert (energy <= max_logit + np.log(3) + 1e-12).all()


def test_temperature_flattens_the_softmax():
    assert (
        scoring.confidence(LOGITS, "max_softmax", 5.0)
        < scoring.confidence(LOGITS, "max_softmax", 1.0)
    ).all()


def test_probability_outputs_give_the_same_softmax_score_as_their_logits():
    probs = scoring.probabilities(LOGITS)
    assert np.allclose(
        scoring.confidence(probs, "max_softmax", output_kind="probabilities"), probs.max(axis=1)
    )


def test_unknown_is_strictly_below_the_threshold():
    assert scoring.is_unknown([0.49, 0.5, 0.51], 0.5).tolist() == [True, False, False]


def test_score_outputs_follows_the_card():
    card = {
        "output": "logits",
        "unknown": {"method": "max_softmax", "temperature": 1.0, "threshold": 0.9},
    }
    probs, scores, unknown = scoring.score_outputs(LOGITS, card)
    assert np.allclose(scores, probs.max(axis=1))
    assert unknown.tolist() == [False, True, True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=300),
    st.floats(0.0, 0.99),
)
def test_threshold_rejects_at_most_the_rate_and_is_the_highest_such(values, rate):
    scores = np.asarray(values)
    threshold = scoring.threshold_for_reject_rate(scores, rate)
    assert scoring.rejected_fraction(scores, threshold) <= rate + 1e-12
    higher = scores[scores > threshold]
    if higher.size:  # the next candidate threshold would reject too many
        assert scoring.rejected_fraction(scores, higher.min()) > rate


def test_rates_on_in_class_and_ood_scores():
    assert scoring.rejected_fraction([1, 2, 3, 4], 2.5) == 0.5
    assert scoring.accepted_fraction([1, 2, 3, 4], 3.5) == 0.25


@pytest.mark.parametrize(
    "call",
    [
        lambda: scoring.confidence(LOGITS, "entropy"),
        lambda: scoring.confidence(LOGITS, "energy", temperature=0),
        lambda: scoring.probabilities(LOGITS, "scores"),
        lambda: scoring.probabilities(np.zeros((2, 2, 2))),
        lambda: scoring.threshold_for_reject_rate([], 0.05),
    ],
)
def test_bad_settings_raise_a_scoring_error(call):
    with pytest.raises(scoring.ScoringError):
        call()
