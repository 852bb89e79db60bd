"""Reading a tags model's output: one sigmoid per tag, and the tags a photo has.

Pure numpy, shared by training (threshold tuning, evaluation) and serving, so they agree on
what "has the tag" means: its probability reaches the tag's threshold from the card.
"""

import numpy as np

from classifier.scoring import as_batch


def tag_probabilities(logits) -> np.ndarray:
    """Raw outputs (images, tags) → each tag's probability, independently of the others."""
    return 1.0 / (1.0 + np.exp(-np.clip(as_batch(logits), -60.0, 60.0)))


def present_tags(probabilities: np.ndarray, card: dict) -> list[list[dict]]:
    """Per image, `[{"tag": …, "proba": …}]` for the tags at or above their thresholds, likeliest first."""
    labels = card["labels"]
    thresholds = np.array([card["tags"]["thresholds"][tag] for tag in labels])
    found = []
    for row in np.atleast_2d(probabilities):
        order = np.argsort(-row, kind="stable")
        found.append(
            [
                {"tag": labels[i], "proba": round(float(row[i]), 4)}
                for i in order
                if row[i] >= thresholds[i]
            ]
        )
    return found
