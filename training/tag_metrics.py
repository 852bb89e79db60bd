"""Figures of a tags model: per-tag thresholds tuned for F1, and the evaluation figures
(mAP, micro and macro F1, precision at 1 and 3, per-tag AP). Pure numpy and scikit-learn."""

import numpy as np

DEFAULT_THRESHOLD = 0.5  # for a tag without a positive validation photo to tune on


def tune_thresholds(truth: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, list]:
    """(threshold per tag, its F1 on these photos or None): each the cut that maximises that tag's
    F1, halfway between the last probability kept and the next one below it."""
    thresholds, f1s = [], []
    for column in range(truth.shape[1]):
        threshold, f1 = _best_cut(truth[:, column] > 0.5, probabilities[:, column])
        thresholds.append(threshold)
        f1s.append(f1)
    return np.asarray(thresholds), f1s


def _best_cut(positive: np.ndarray, scores: np.ndarray) -> tuple[float, float | None]:
    if not positive.any():
        return DEFAULT_THRESHOLD, None
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(positive[order])
    kept = np.arange(1, len(scores) + 1)
    f1 = 2 * hits / (kept + positive.sum())
    # Photos with equal scores are kept or dropped together: only cuts between distinct scores.
    distinct = np.append(ranked[:-1] > ranked[1:], True)
    best = int(np.argmax(np.where(distinct, f1, -1.0)))
    below = ranked[best + 1] if best + 1 < len(ranked) else 0.0
    return float((ranked[best] + below) / 2), round(float(f1[best]), 4)


def tag_figures(
    truth: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray, tags: list[str]
) -> dict:
    """Evaluation figures; AP and mAP over the tags with at least one positive photo here."""
    from sklearn.metrics import average_precision_score, f1_score

    truth = truth > 0.5
    predicted = probabilities >= thresholds[np.newaxis, :]
    present = truth.any(axis=0)
    per_tag = {}
    for column, tag in enumerate(tags):
        support = int(truth[:, column].sum())
        per_tag[tag] = {
            "ap": _rounded(average_precision_score(truth[:, column], probabilities[:, column]))
            if support
            else None,
            "f1": _rounded(f1_score(truth[:, column], predicted[:, column], zero_division=0.0)),
            "threshold": _rounded(thresholds[column]),
            "photos": support,
        }
    return {
        "mAP": _rounded(np.mean([per_tag[tag]["ap"] for tag in np.array(tags)[present]])),
        "micro_f1": _rounded(f1_score(truth, predicted, average="micro", zero_division=0.0)),
        "macro_f1": _rounded(
            f1_score(truth[:, present], predicted[:, present], average="macro", zero_division=0.0)
        ),
        "precision_at_1": _precision_at(truth, probabilities, 1),
        "precision_at_3": _precision_at(truth, probabilities, 3),
        "photos": int(len(truth)),
        "per_tag": per_tag,
    }


def _precision_at(truth: np.ndarray, probabilities: np.ndarray, k: int) -> float:
    """The mean share of each photo's k likeliest tags that it really has."""
    k = min(k, truth.shape[1])
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return _rounded(np.take_along_axis(truth, top, axis=1).mean())


def _rounded(value) -> float:
    return round(float(value), 4)
