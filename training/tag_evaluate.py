"""`petclf evaluate` on a tags model: photos with known tags → mAP, F1, precision at k, per-tag AP.

It predicts through the engine that serves the model (the fast runtime) and decides each tag
with the card's threshold, so the figures are the served model's. Every evaluation appends one
row to a results CSV and one row per tag to the per-tag CSV beside it, so configurations can be
compared over time, as the original project's results.csv did.
"""

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier import load_engine
from classifier.tags import tag_probabilities
from training import data
from training.errors import DataError
from training.tag_labels import read_tag_labels
from training.tag_metrics import tag_figures

RESULT_COLUMNS = (
    "evaluated_at",
    "model",
    "architecture",
    "backbone_size",
    "hidden",
    "epochs_run",
    "train_photos",
    "labels_file",
    "photos",
    "mAP",
    "micro_f1",
    "macro_f1",
    "precision_at_1",
    "precision_at_3",
)
PER_TAG_COLUMNS = ("evaluated_at", "model", "tag", "ap", "f1", "threshold", "photos")


class ResultsFileError(DataError):
    """The results CSV exists with other columns."""


def evaluate_tags(
    model_path: Path, labels_csv: Path, data_dir: Path | None = None, batch_size: int = 32
) -> dict:
    """The figures of a tags model on the photos of a labels file (see tag_metrics.tag_figures)."""
    engine = load_engine(model_path, threads=1, task="tags")
    card = engine.card
    labels = read_tag_labels(labels_csv, data_dir, min_photos=1)
    tags = card["labels"]
    foreign = sorted(set(labels.tags) - set(tags))
    if foreign:
        raise DataError(f"{labels_csv} has tags the model doesn't know: {', '.join(foreign[:5])}")
    truth = np.zeros((len(labels), len(tags)), np.float32)
    for column, tag in enumerate(labels.tags):
        truth[:, tags.index(tag)] = labels.targets[:, column]
    images = data.load_images([data.Example(path, 0) for path in labels.paths], "evaluating")
    if images.skipped:
        path, problem = images.skipped[0]
        raise DataError(f"{labels_csv} lists {path}, which is not a usable image: {problem}")
    logits = np.concatenate(
        [
            engine.runner.run(images.pixels[start : start + batch_size].astype(np.float32))
            for start in range(0, len(images), batch_size)
        ]
    )
    thresholds = np.array([card["tags"]["thresholds"][tag] for tag in tags])
    return tag_figures(truth, tag_probabilities(logits), thresholds, tags)


def append_results(
    results: Path, model_path: Path, card: dict, labels_csv: Path, figures: dict
) -> Path:
    """One row to `results`, one per tag to the per-tag CSV beside it; returns that file's path."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    training = card["training"]
    _append(
        results,
        RESULT_COLUMNS,
        [
            {
                "evaluated_at": at,
                "model": model_path.stem,
                "architecture": card["architecture"],
                "backbone_size": card["backbone"]["input_size"],
                "hidden": "-".join(map(str, training.get("hidden", []))) or "linear",
                "epochs_run": training.get("epochs_run"),
                "train_photos": card["data"].get("train"),
                "labels_file": labels_csv.name,
                **{key: figures[key] for key in RESULT_COLUMNS[8:]},
            }
        ],
    )
    per_tag = per_tag_path(results)
    _append(
        per_tag,
        PER_TAG_COLUMNS,
        [
            {"evaluated_at": at, "model": model_path.stem, "tag": tag, **row}
            for tag, row in figures["per_tag"].items()
        ],
    )
    return per_tag


def per_tag_path(results: Path) -> Path:
    """results.csv → results_per_tag.csv."""
    return results.with_name(f"{results.stem}_per_tag{results.suffix or '.csv'}")


def format_tag_table(figures: dict) -> str:
    """A readable summary for the terminal."""
    width = max(len(tag) for tag in [*figures["per_tag"], "tag"])
    lines = [f"{'tag':<{width}}      AP      F1  threshold  photos"]
    for tag, row in figures["per_tag"].items():
        ap = "n/a" if row["ap"] is None else f"{row['ap']:.3f}"
        lines.append(
            f"{tag:<{width}}  {ap:>6}  {row['f1']:>6.3f}  {row['threshold']:>9.3f}  {row['photos']:>6}"
        )
    lines.append(
        f"mAP {figures['mAP']:.3f}, micro-F1 {figures['micro_f1']:.3f}, "
        f"macro-F1 {figures['macro_f1']:.3f}, precision@1 {figures['precision_at_1']:.3f}, "
        f"precision@3 {figures['precision_at_3']:.3f} on {figures['photos']} photos"
    )
    return "\n".join(lines)


def _append(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    if path.is_file() and path.stat().st_size:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        if tuple(header) != columns:
            raise ResultsFileError(
                f"{path} has other columns than a tags results file; choose another --results"
            )
        new = False
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = True
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerows(rows)
