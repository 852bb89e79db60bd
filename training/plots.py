"""Training curves and confusion-matrix pictures (matplotlib, no display needed)."""

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, train and validation: phases one after the other, or
    cross-fitted heads ("head 1", "head 2", …) drawn over each other from their first epoch."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    segments = _segments(history)
    overlay = len(segments) > 1 and all(phase.startswith("head ") for phase, _ in segments)
    for axis, metric in zip(axes, ("loss", "accuracy")):
        if overlay:
            _plot_heads(axis, segments, metric)
        else:
            _plot_phases(axis, history, metric)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    return _save(plt, figure, path)


def _segments(history: list[dict]) -> list[tuple[str, list[dict]]]:
    """Consecutive rows of one phase, in order."""
    segments: list[tuple[str, list[dict]]] = []
    for row in history:
        if not segments or segments[-1][0] != row["phase"]:
            segments.append((row["phase"], []))
        segments[-1][1].append(row)
    return segments


def _plot_phases(axis, history: list[dict], metric: str) -> None:
    epochs = np.arange(1, len(history) + 1)
    for prefix, style in (("", "-"), ("val_", "--")):
        values = [row.get(prefix + metric, np.nan) for row in history]
        axis.plot(epochs, values, style, label=("validation " if prefix else "train ") + metric)
    for boundary in [
        i + 1 for i in range(1, len(history)) if history[i]["phase"] != history[i - 1]["phase"]
    ]:
        axis.axvline(boundary - 0.5, color="grey", linewidth=0.8)
        axis.text(
            boundary - 0.4, axis.get_ylim()[1], history[boundary - 1]["phase"], fontsize=8, va="top"
        )


def _plot_heads(axis, segments: list[tuple[str, list[dict]]], metric: str) -> None:
    """One colour per head: solid for its training folds, dashed for the fold it stopped early on."""
    for index, (phase, rows) in enumerate(segments):
        epochs = np.arange(1, len(rows) + 1)
        colour = f"C{index % 10}"
        axis.plot(
            epochs,
            [row.get(metric, np.nan) for row in rows],
            "-",
            color=colour,
            label=f"{phase} train",
        )
        axis.plot(
            epochs,
            [row.get("val_" + metric, np.nan) for row in rows],
            "--",
            color=colour,
            label=f"{phase} validation",
        )


def plot_confusion_matrix(
    matrix: list[list[int]], labels: list[str], path: Path, title: str
) -> Path:
    plt = _pyplot()
    counts = np.asarray(matrix)
    size = 1.2 + 0.75 * len(labels)
    figure, axis = plt.subplots(figsize=(size + 1.5, size))
    image = axis.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axis)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for (row, column), count in np.ndenumerate(counts):
        colour = "white" if count > counts.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", color=colour)
    axis.set_title(title)
    return _save(plt, figure, path)


def _save(plt, figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
