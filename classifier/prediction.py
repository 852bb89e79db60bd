"""The result of classifying one image, and its JSON shape (the same everywhere)."""

from dataclasses import dataclass

UNKNOWN_LABEL = "unknown"
PROBA_DECIMALS = 4


@dataclass(frozen=True)
class Prediction:
    top: tuple[tuple[str, float], ...]  # (label, probability), most likely first
    unknown: bool  # the confidence score is below the card's threshold
    score: float  # the confidence score the unknown decision was made on
    id: str | None = None  # the served prediction's short id, when it was kept for corrections

    @property
    def label(self) -> str:
        return UNKNOWN_LABEL if self.unknown else self.top[0][0]

    def to_dict(self) -> dict:
        """`{"predictions": [{"label", "proba"}, ...], "label": ..., "unknown": ...}` (+ "id")."""
        shown = {
            "predictions": [
                {"label": label, "proba": round(proba, PROBA_DECIMALS)} for label, proba in self.top
            ],
            "label": self.label,
            "unknown": self.unknown,
        }
        return shown if self.id is None else {**shown, "id": self.id}
