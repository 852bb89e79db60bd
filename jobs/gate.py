"""The not-worse gate: a retrained version serves only if it answers the project's test photos at
least as well as the version serving now.

Both models answer the same photos through the same engine, as the servers would answer them: the
served label, so "unknown" counts as wrong, and so does a class the older model never knew.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from classifier import load_engine
from preprocessing.dataset import class_listing

BATCH = 32


@dataclass(frozen=True)
class Verdict:
    activate: bool
    decided_by: str  # which figure decided, in words
    new_accuracy: float | None
    active_accuracy: float | None
    active_version: int | None
    test_photos: int

    def to_dict(self) -> dict:
        return asdict(self)


def judge(new_h5: Path, active_h5: Path | None, active_version: int | None, test: Path) -> Verdict:
    """Compare the new model with the active one (None: there is none) on `test`/<class>/<photo>."""
    photos = [(folder.name, path) for folder, files in _listing(test) for path in files]
    if active_h5 is None:
        return Verdict(
            True, "no version was serving", _accuracy(new_h5, photos), None, None, len(photos)
        )
    if not photos:
        return Verdict(
            True, "the project has no test photos to compare on", None, None, active_version, 0
        )
    new, old = _accuracy(new_h5, photos), _accuracy(active_h5, photos)
    figure = f"accuracy on the project's {len(photos)} test photos"
    return Verdict(new >= old, figure, new, old, active_version, len(photos))


def _listing(test: Path) -> list[tuple[Path, list[Path]]]:
    return class_listing(test) if test.is_dir() else []


def _accuracy(h5: Path, photos: list[tuple[str, Path]]) -> float | None:
    if not photos:
        return None
    engine = load_engine(h5, threads=1)
    right = 0
    for start in range(0, len(photos), BATCH):
        chunk = photos[start : start + BATCH]
        images = [engine.prepare(path.read_bytes()) for _, path in chunk]
        answers = engine.predict_batch(images, top=1)
        right += sum(answer.label == truth for (truth, _), answer in zip(chunk, answers))
    return round(right / len(photos), 4)
