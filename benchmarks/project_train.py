"""A project's train request → its new version answering, on real pet photos; the original service's
recipe on the same photos; and the memory of a web worker holding 8 project engines.

For each size C×N (default 3×15 and 6×50): a project of the C classes with the most photos in
--pets, N photos each (at most three quarters of a class, so every class keeps photos back), their
sides by the store's sha256 rule. Timed: the train request → the job through the queue → a real
`petclf worker` process → the new version's first answer through projects.predict. Then
accuracy on every photo of those classes that the project was not given.

Beside it, the original recipe on the project's train photos: a 2-conv CNN with dropout, 100
epochs, images scaled to 1/20 of the first image's size; its wall time and accuracy on the same
held-out photos.

Last, the web worker: 8 projects made from copies of one trained version's files, then a fresh
process builds the web app (which loads the shipped model) and asks each project for a
prediction through the API, so projects.engines holds 8 engines; its RSS before and after.

    .venv/bin/python benchmarks/project_train.py                   # both sizes
    .venv/bin/python benchmarks/project_train.py --sizes 3x15      # the quick one
    .venv/bin/python benchmarks/project_train.py --sizes 3x15 --seeds 1 2 3 4 5 6 7 8 9 10 --skip-original

Which 15 photos a class gives changes the accuracy by several points, so one seed says little;
several print their average and range.

The store, queue and models go to a temporary PETCLF_HOME (--home to keep them); photos are read
where they are, never copied into the repository. Timings depend on what else the machine runs:
the load average is printed with each figure.
"""

import argparse
import io
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PETS = ROOT.parent / "shared" / "datasets" / "pets"
ORIGINAL_EPOCHS = 100
ORIGINAL_SCALE = 20  # the original scaled every image to 1/20 of the first image's size
ORIGINAL_MIN_SIDE = 8  # two 2×2 poolings need at least this much
ENGINES = 8
# the issue's, on 2 cores
TARGET_SIZE, TARGET_SECONDS, TARGET_ACCURACY, TARGET_RSS_MB = (
    (3, 15),
    30,
    0.95,
    600,
)
PREDICT_BATCH = 32


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pets",
        type=Path,
        default=DEFAULT_PETS,
        help="one folder of photos per class (default: %(default)s)",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=_size,
        default=[(3, 15), (6, 50)],
        metavar="CxN",
        help="classes × photos per class (default: 3x15 6x50)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=ROOT / "models" / "pets.h5",
        help="the shipped model whose backbone projects train on (default: %(default)s)",
    )
    parser.add_argument(
        "--home", type=Path, help="PETCLF_HOME to use and keep (default: a temporary folder)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1],
        help="which photos each class gives the project; several seeds make one project each, "
        "and a summary of their accuracies (default: 1)",
    )
    parser.add_argument(
        "--original-epochs", type=int, default=ORIGINAL_EPOCHS, help="epochs of the original recipe"
    )
    parser.add_argument(
        "--skip-original", action="store_true", help="don't train the original recipe"
    )
    args = parser.parse_args()
    if not args.pets.is_dir():
        parser.error(f"{args.pets} is not a folder of class folders; pass --pets")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _home(args.home) as home:
        os.environ.update(PETCLF_HOME=str(home), PETCLF_MODEL=str(args.model.resolve()))
        for name in ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL"):
            os.environ.pop(name, None)
        print(
            f"machine: {os.cpu_count()} cores, load average {_load()} at the start; PETCLF_HOME {home}"
        )
        _warm_backbone(home)
        trained = []
        with _worker(home):
            for classes, per_class in args.sizes:
                accuracies = []
                for seed in args.seeds:
                    photos = pick_photos(args.pets, classes, per_class, seed)
                    name, accuracy = measure_project(photos, classes, per_class, seed)
                    trained.append(name)
                    accuracies.append(accuracy)
                    if not args.skip_original:
                        measure_original(name, photos, args.original_epochs, seed)
                if len(accuracies) > 1:
                    print(
                        f"\n{classes}×{per_class} over seeds {' '.join(map(str, args.seeds))}: "
                        f"held-back accuracy {statistics.mean(accuracies):.1%} on average, "
                        f"{min(accuracies):.1%} to {max(accuracies):.1%}"
                    )
        if trained:
            measure_engines_rss(trained[0])
    return 0


def _size(text: str) -> tuple[int, int]:
    classes, _, per_class = text.lower().partition("x")
    if not (
        classes.isdigit() and per_class.isdigit() and int(classes) >= 2 and int(per_class) >= 5
    ):
        raise argparse.ArgumentTypeError(
            f"a size is CxN with C ≥ 2 classes and N ≥ 5 photos each, not {text!r}"
        )
    return int(classes), int(per_class)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


@contextmanager
def _home(kept: Path | None):
    if kept:
        kept.mkdir(parents=True, exist_ok=True)
        yield kept.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="petclf-bench-") as scratch:
        yield Path(scratch)


def _warm_backbone(home: Path) -> None:
    """Projects train on the shipped model's backbone, extracted once per install: not part of a request."""
    from jobs.backbone import shipped_backbone

    started = time.monotonic()
    backbone = shipped_backbone(home / "backbones")
    print(
        f"backbone: {backbone.architecture} at {backbone.input_size} px from {os.environ['PETCLF_MODEL']}; "
        f"extracted once per install in {time.monotonic() - started:.1f} s (not counted below)"
    )


@contextmanager
def _worker(home: Path):
    """A real `petclf worker` process, already taking jobs (as in production) before the clock starts."""
    log = home / "worker.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            # No heat-map service: its model loading would share the cores with the training timed.
            [sys.executable, "-m", "petclf", "worker", "--no-heatmaps"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while "taking jobs from" not in log.read_text(errors="replace"):
            if process.poll() is not None:
                raise SystemExit(f"the worker stopped:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


# photos


def pick_photos(
    pets: Path, classes: int, per_class: int, seed: int
) -> dict[str, tuple[list[Path], list[Path]]]:
    """{label: (photos given to the project, photos held back)} for the `classes` largest classes."""
    from preprocessing.dataset import class_listing

    listing = sorted(class_listing(pets), key=lambda item: (-len(item[1]), item[0].name))[:classes]
    chosen = {}
    for folder, files in sorted(listing, key=lambda item: item[0].name):
        files = list(files)
        random.Random(f"{seed}-{folder.name}").shuffle(files)
        given = min(per_class, len(files) * 3 // 4)
        chosen[folder.name] = (files[:given], files[given:])
    return chosen


def _predict_labels(db, project, paths: list[Path]) -> list:
    from projects.predict import predict_many

    answers = []
    for start in range(0, len(paths), PREDICT_BATCH):
        answers += predict_many(
            db, project, [path.read_bytes() for path in paths[start : start + PREDICT_BATCH]]
        )
    return answers


# the project


def measure_project(photos: dict, classes: int, per_class: int, seed: int) -> tuple[str, float]:
    """The project's name and its accuracy on the held-back photos."""
    from jobs import enqueue
    from projects import service
    from projects.photos import Incoming, add_photos
    from store import session

    name = f"pets-{classes}x{per_class}-seed{seed}"
    started = time.monotonic()
    with session() as db:
        project = service.create(db, name)
        for label, (given, _) in photos.items():
            add_photos(
                db, project, label, [Incoming(path.name, path.read_bytes()) for path in given]
            )
        counts = service.class_counts(db, project)
    uploaded = time.monotonic() - started
    sides = {side: sum(count[side] for count in counts.values()) for side in ("train", "test")}
    fewer = [
        f"{label} {len(given)}" for label, (given, _) in photos.items() if len(given) < per_class
    ]

    started = time.monotonic()
    with session() as db:
        job_id = service.request_training(db, service.get(db, name)).id
    enqueue(job_id)
    job, phases = _wait(job_id, started)
    done_at = time.monotonic()
    if job.state != "done":
        raise SystemExit(f"{name}: the job {job.state}: {job.error or job.message}")
    held_out = [(path, label) for label, (_, back) in photos.items() for path in back]
    with session() as db:
        project = service.get(db, name)
        _predict_labels(db, project, [held_out[0][0]])  # the new version's first answer
        answered_at = time.monotonic()
        answers = _predict_labels(db, project, [path for path, _ in held_out])
        card_accuracy = service.active(db, project).card["test_metrics"]["accuracy"]

    correct = sum(answer.top[0][0] == label for answer, (_, label) in zip(answers, held_out))
    unknown = sum(answer.unknown for answer in answers)
    queued = (job.started_at - job.created_at).total_seconds()
    in_worker = (job.finished_at - job.started_at).total_seconds()
    print(
        f"\n{classes}×{per_class}, seed {seed}: {', '.join(photos)}"
        + (f" (fewer in the data set: {', '.join(fewer)})" if fewer else "")
    )
    print(
        f"  photos given: {sides['train']} train + {sides['test']} test (uploaded in {uploaded:.1f} s); held back: {len(held_out)}"
    )
    target = f" (target ≤ {TARGET_SECONDS} s)" if (classes, per_class) == TARGET_SIZE else ""
    print(
        f"  train request → new version answering: {answered_at - started:.1f} s{target} = "
        f"{queued:.1f} s queued + {in_worker:.1f} s in the worker + {answered_at - done_at:.1f} s to the first answer; "
        f"load {_load()}"
    )
    print(f"  in the worker, by phase: {_phase_durations(phases, done_at - started)}")
    target = f" (target ≥ {TARGET_ACCURACY:.0%})" if (classes, per_class) == TARGET_SIZE else ""
    print(
        f"  accuracy on the {len(held_out)} held-back photos: {correct / len(held_out):.1%} top-1{target}; {unknown / len(held_out):.1%} flagged unknown; "
        f"the card's own test accuracy: {card_accuracy:.1%} on {sides['test']} photos"
    )
    return name, correct / len(held_out)


def _wait(job_id: str, started: float):
    """The finished job's row, and when (seconds after `started`) each phase was first seen in it."""
    from projects import service
    from store import session
    from store.models import FINISHED_STATES

    phases = {}
    while True:
        with session() as db:
            job = service.job(db, job_id)
        if job.phase:
            # "head 2/5" counts as "head"
            phases.setdefault(job.phase.split(" ")[0], time.monotonic() - started)
        if job.state in FINISHED_STATES:
            return job, phases
        time.sleep(0.2)


def _phase_durations(phases: dict[str, float], end: float) -> str:
    """Each phase's time, from its first sighting to the next phase's: "loading 20.1 s, head 31.0 s, …"."""
    starts = list(phases.items()) + [("", end)]
    return ", ".join(
        f"{phase} {following - start:.1f} s"
        for (phase, start), (_, following) in zip(starts, starts[1:])
        if phase != "done"
    )


# the original recipe


def measure_original(name: str, photos: dict, epochs: int, seed: int) -> None:
    """The original service's model, trained on the project's train photos, tested on the same held-back photos."""
    import keras
    import numpy as np
    from sqlalchemy import select

    from preprocessing import decode
    from projects import service
    from store import Photo, photo_path, session

    labels = list(photos)
    with session() as db:
        project = service.get(db, name)
        rows = db.execute(
            select(Photo.sha256, Photo.class_id).where(
                Photo.project_id == project.id, Photo.side == "train"
            )
        ).all()
        class_names = {label.id: label.name for label in project.classes}
    train = [(photo_path(sha), class_names[class_id]) for sha, class_id in rows]
    held_out = [(path, label) for label, (_, back) in photos.items() for path in back]

    started = time.monotonic()
    first = decode(train[0][0].read_bytes()).image
    size = tuple(max(ORIGINAL_MIN_SIDE, side // ORIGINAL_SCALE) for side in first.size)

    def arrays(items):
        """The original's input: RGB scaled to `size`, values 0–1; and the class numbers."""
        images = [
            np.asarray(decode(path.read_bytes()).image.resize(size), dtype=np.float32) / 255
            for path, _ in items
        ]
        return np.stack(images), np.array([labels.index(label) for _, label in items])

    x, y = arrays(train)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((size[1], size[0], 3)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.25),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(len(labels), activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=16, shuffle=True, verbose=0)
    wall = time.monotonic() - started

    test_x, test_y = arrays(held_out)
    probabilities = model.predict(test_x, verbose=0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == test_y))
    # the original's "No category (Anomaly)"
    anomalies = float(np.mean(probabilities.max(axis=1) < 0.5))
    print(
        f"  original recipe (2-conv CNN with dropout, {epochs} epochs, {size[0]}×{size[1]} px = 1/{ORIGINAL_SCALE} "
        f"of the first image): {wall:.1f} s on {len(train)} train photos, {accuracy:.1%} top-1 on the same "
        f"{len(held_out)} held-back photos, {anomalies:.1%} below its 0.5 anomaly line; load {_load()}"
    )


# a web worker's memory


def measure_engines_rss(source: str) -> None:
    names = _copy_projects(source, ENGINES)
    # a fresh interpreter, like a gunicorn worker
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        baseline, loaded = pool.apply(web_worker_rss, (names, _any_photo(source)))
    print(
        f"\nweb worker RSS: {baseline:.0f} MB with the app and shipped model, {loaded:.0f} MB with {len(names)} "
        f"project engines loaded (target ≤ {TARGET_RSS_MB} MB), {(loaded - baseline) / len(names):.0f} MB an engine; "
        f"load {_load()}"
    )


def _any_photo(name: str) -> bytes:
    from sqlalchemy import select

    from projects import service
    from store import Photo, photo_path, session

    with session() as db:
        sha = db.scalar(
            select(Photo.sha256).where(Photo.project_id == service.get(db, name).id).limit(1)
        )
    return photo_path(sha).read_bytes()


def _copy_projects(source: str, count: int) -> list[str]:
    """`count` projects whose v1 is a copy of the source's active version's files (model, card, runtime)."""
    from projects import service
    from store import ModelVersion, home, session

    names = [f"engine-{n}" for n in range(1, count + 1)]
    with session() as db:
        version = service.active(db, service.get(db, source))
        h5 = home() / version.path
        for name in names:
            folder = service.model_folder(name)
            folder.mkdir(parents=True, exist_ok=True)
            for path in h5.parent.glob(f"{h5.stem}.*"):
                shutil.copy(path, folder / path.name.replace(h5.stem, "v1", 1))
            project = service.create(db, name)
            db.flush()
            db.add(
                ModelVersion(
                    project_id=project.id,
                    number=1,
                    path=str((folder / "v1.h5").relative_to(home())),
                    card=version.card,
                    job_id=None,
                )
            )
            project.active_version = 1
    return names


def web_worker_rss(names: list[str], photo: bytes) -> tuple[float, float]:
    """In a fresh process: (RSS with the app built, RSS once every project answered a prediction), in MB."""
    from webapp.app import create_app

    client = create_app().test_client()
    baseline = _rss_mb()
    for name in names:
        answer = client.post(
            f"/api/v1/projects/{name}/predict", data={"file": (io.BytesIO(photo), "photo.jpg")}
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{name}: {answer.status_code} {answer.get_data(as_text=True)}")
    return baseline, _rss_mb()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
