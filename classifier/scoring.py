"""From the model's raw output to probabilities, a confidence score and the unknown decision.

Pure numpy, shared by training (threshold calibration) and the inference engine, so the two can
never disagree about what "unknown" means. The model card says how to read the output:

- ``card["output"]`` is ``"logits"`` (the shipped models) or ``"probabilities"``;
- ``card["unknown"]`` holds ``method``, ``temperature`` and ``threshold``.

A prediction is unknown when its confidence score is strictly below the threshold; higher
scores mean "more like the training classes" for every method.
"""

import numpy as np

from classifier.errors import ClassifierError

OUTPUT_KINDS = ("logits", "probabilities")
# max_softmax: top probability at temperature T (T=1 is the classic baseline);
# max_logit: the largest logit; energy: T·logsumexp(logits/T), the negative free energy.
SCORE_METHODS = ("max_softmax", "max_logit", "energy")
DEFAULT_TOP = 5  # labels an answer lists, most likely first
_EPSILON = 1e-12


class ScoringError(ClassifierError, ValueError):
    """The output or the scoring settings can't be used as asked."""


def as_batch(outputs) -> np.ndarray:
    """The model's output as a float64 (images, classes) array; one image may be 1-D."""
    array = np.asarray(outputs, dtype=np.float64)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ScoringError(f"expected model outputs of shape (images, classes), got {array.shape}")
    return array


def to_logits(outputs, output_kind: str) -> np.ndarray:
    """Logits from either output kind (for probabilities: their logs, equal up to a constant)."""
    _check_kind(output_kind)
    batch = as_batch(outputs)
    if output_kind == "probabilities":
        return np.log(np.clip(batch, _EPSILON, 1.0))
    return batch


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    scaled = as_batch(logits) / _check_temperature(temperature)
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def probabilities(outputs, output_kind: str = "logits") -> np.ndarray:
    """The probabilities shown to users (temperature 1), one row per image, rows sum to 1."""
    _check_kind(output_kind)
    if output_kind == "probabilities":
        batch = np.clip(as_batch(outputs), 0.0, None)
        return batch / np.maximum(batch.sum(axis=1, keepdims=True), _EPSILON)
    return softmax(outputs)


def confidence(
    outputs, method: str, temperature: float = 1.0, output_kind: str = "logits"
) -> np.ndarray:
    """One confidence score per image; higher means more like the training classes."""
    if method not in SCORE_METHODS:
        raise ScoringError(
            f"unknown score method {method!r}; choose one of {', '.join(SCORE_METHODS)}"
        )
    temperature = _check_temperature(temperature)
    logits = to_logits(outputs, output_kind)
    if method == "max_softmax":
        return softmax(logits, temperature).max(axis=1)
    if method == "max_logit":
        return logits.max(axis=1)
    scaled = logits / temperature
    peak = scaled.max(axis=1)
    return temperature * (peak + np.log(np.exp(scaled - peak[:, np.newaxis]).sum(axis=1)))


def is_unknown(scores, threshold: float) -> np.ndarray:
    """The one rule: a score strictly below the threshold is unknown."""
    return np.asarray(scores, dtype=np.float64) < float(threshold)


def marks_unknown(card: dict) -> bool:
    """False when the card's rule can't mark any photo unknown: the any-object model's, whose
    threshold on the top probability is 0, so every photo gets its most likely classes."""
    unknown = card["unknown"]
    return not (unknown["method"] == "max_softmax" and unknown["threshold"] <= 0)


def score_outputs(outputs, card: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, scores, unknown flags) for a batch of raw outputs, as the card says."""
    output_kind = card.get("output", "logits")
    unknown = card["unknown"]
    probs = probabilities(outputs, output_kind)
    scores = confidence(outputs, unknown["method"], unknown.get("temperature", 1.0), output_kind)
    return probs, scores, is_unknown(scores, unknown["threshold"])


def threshold_for_reject_rate(in_class_scores, max_reject_rate: float) -> float:
    """The highest threshold that rejects at most `max_reject_rate` of in-class images."""
    scores = np.sort(np.asarray(in_class_scores, dtype=np.float64).ravel())
    if scores.size == 0:
        raise ScoringError("can't choose a threshold without in-class images")
    if not 0.0 <= max_reject_rate < 1.0:
        raise ScoringError(f"the reject rate must be in [0, 1), got {max_reject_rate}")
    # Everything strictly below scores[k] is rejected, and there are at most k such scores.
    k = int(np.floor(max_reject_rate * scores.size))
    return float(scores[k])


def rejected_fraction(scores, threshold: float) -> float:
    """The in-class reject rate when `scores` are in-class images."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    return float(is_unknown(scores, threshold).mean()) if scores.size else float("nan")


def accepted_fraction(scores, threshold: float) -> float:
    """The false-accept rate when `scores` are out-of-distribution images."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    return float((~is_unknown(scores, threshold)).mean()) if scores.size else float("nan")


def _check_kind(output_kind: str) -> None:
    if output_kind not in OUTPUT_KINDS:
        raise ScoringError(
            f"unknown model output kind {output_kind!r}; expected one of {', '.join(OUTPUT_KINDS)}"
        )


def _check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not temperature > 0:
        raise ScoringError(f"the temperature must be positive, got {temperature}")
    return temperature
