"""Classification figures (accuracy, per-class precision/recall/F1, confusion matrix) and the
unknown-rejection figures, as plain dicts ready for the card and `evaluate --json`."""

import numpy as np

from classifier import scoring


def classification_figures(true: np.ndarray, predicted: np.ndarray, labels: list[str]) -> dict:
    """Rows of the confusion matrix are true labels, columns predicted, both in `labels` order."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    indices = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=indices, zero_division=np.nan
    )
    per_class = {
        label: {
            "precision": _rounded(precision[i]),
            "recall": _rounded(recall[i]),
            "f1": _rounded(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
        if support[i] or (predicted == i).any()  # classes absent from this data set are left out
    }
    return {
        "accuracy": _rounded(float(np.mean(true == predicted))) if len(true) else float("nan"),
        "images": int(len(true)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(true, predicted, labels=indices).tolist(),
    }


def unknown_figures(
    in_class_scores: np.ndarray, ood_scores: np.ndarray | None, threshold: float
) -> dict:
    figures = {
        "in_class_reject_rate": _rounded(scoring.rejected_fraction(in_class_scores, threshold))
    }
    if ood_scores is not None:
        figures["false_accept_rate"] = _rounded(scoring.accepted_fraction(ood_scores, threshold))
        figures["ood_images"] = int(len(ood_scores))
    return figures


def compare_scores(val_logits, ood_logits, max_reject_rate: float, temperatures=(1.0, 2.0)) -> dict:
    """False-accept rate of each score at the threshold that rejects `max_reject_rate` of validation.

    Recorded in the card for transparency; the method used is the one configured, not the
    best of these on the measurement photos.
    """
    comparison = {}
    for method in scoring.SCORE_METHODS:
        for temperature in temperatures if method != "max_logit" else (1.0,):
            val = scoring.confidence(val_logits, method, temperature)
            threshold = scoring.threshold_for_reject_rate(val, max_reject_rate)
            key = method if temperature == 1.0 else f"{method}@T={temperature:g}"
            comparison[key] = _rounded(
                scoring.accepted_fraction(
                    scoring.confidence(ood_logits, method, temperature), threshold
                )
            )
    return comparison


def format_table(figures: dict, labels: list[str]) -> str:
    """A readable summary for the terminal."""
    width = max(len(label) for label in labels + ["class"])
    lines = [f"{'class':<{width}}  precision  recall     f1  images"]
    for label in labels:
        row = figures["per_class"].get(label)
        if row is None:
            continue
        cells = "  ".join(
            f"{_show(row[key]):>{size}}"
            for key, size in (("precision", 9), ("recall", 6), ("f1", 5))
        )
        lines.append(f"{label:<{width}}  {cells}  {row['support']:>6}")
    lines.append(f"accuracy: {_show(figures['accuracy'])} on {figures['images']} images")
    lines.append("confusion matrix (rows: true, columns: predicted):")
    short = [label[:8] for label in labels]
    lines.append(" " * (width + 2) + " ".join(f"{name:>8}" for name in short))
    for label, row in zip(labels, figures["confusion_matrix"]):
        lines.append(f"{label:<{width}}  " + " ".join(f"{count:>8}" for count in row))
    if "in_class_reject_rate" in figures:
        lines.append(
            f"in-class images rejected as unknown: {_show(figures['in_class_reject_rate'])}"
        )
    if "false_accept_rate" in figures:
        lines.append(
            f"out-of-distribution photos accepted as a class: {_show(figures['false_accept_rate'])} "
            f"of {figures.get('ood_images', '?')}"
        )
    return "\n".join(lines)


def _rounded(value) -> float:
    value = float(value)
    return round(value, 4) if np.isfinite(value) else float("nan")


def _show(value) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"
