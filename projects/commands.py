"""`petclf project …`: projects from the command line, on the same store as the web app, no server needed.

petclf project create pets --class tom --class felix
petclf project add pets photos/            # photos/<class>/… (or --class C with a flat folder)
petclf project train pets                  # runs the job here, with a progress bar; Ctrl-C cancels it
petclf project predict pets photo.jpg
"""

import argparse
import json
import sys
from collections import Counter
from concurrent import futures
from pathlib import Path

from tqdm import tqdm

from preprocessing.dataset import class_files, class_listing
from projects import service
from projects.errors import Invalid, ProjectError
from projects.names import class_name
from projects.photos import Incoming, Outcome, add_photos
from store import session

BATCH = 16  # photos per transaction: short write locks for the web app, few re-reads of the project's hashes
MAX_PHOTO_MB = 50  # far above any photo; keeps a stray video out of memory
POLL_SECONDS = 0.25  # how often a waiting `train` reads its job's row


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "project",
        help="make, fill, train and use per-project classifiers (the store the web app serves)",
        description="Per-project classifiers in the store that the web app and `petclf worker` use "
        "(PETCLF_HOME, PETCLF_DATABASE_URL). No server needs to run.",
    )
    commands = parser.add_subparsers(
        dest="project_command", metavar="<project command>", required=True
    )

    create = commands.add_parser(
        "create",
        help="create a project",
        description="Create an empty project, optionally with its classes.",
    )
    create.add_argument("name", help="the project's name")
    create.add_argument(
        "--class", dest="classes", action="append", metavar="C", help="a class (repeat for each)"
    )
    create.set_defaults(func=run_create)

    listing = commands.add_parser(
        "list",
        help="list the projects",
        description="A table of the projects: classes, photos, active version and current job.",
    )
    listing.set_defaults(func=run_list)

    add = commands.add_parser(
        "add",
        help="add photos from a folder",
        description="Add the photos under DIR (sub-folders included) to a project: DIR/<class>/… holds one "
        "folder per class, or give --class C for a flat folder of one class. Every photo is checked: "
        "non-images, bombs and truncated files are rejected with the reason; exact duplicates are stored once.",
        epilog="Exit status: 0 when no file was rejected, 1 otherwise (the other photos are stored).",
    )
    add.add_argument("name", help="the project's name")
    _add_folder_arguments(add)
    add.add_argument(
        "--class", dest="label", metavar="C", help="DIR is a flat folder of photos of class C"
    )
    add.set_defaults(func=run_add)

    common = commands.add_parser(
        "common",
        help="the common pool of 'none of these' photos",
        description="The pool of photos that are none of any project's classes, shared "
        "by every project as outlier exposure and for its false-accept rate.",
    )
    common_add = common.add_subparsers(
        dest="common_command", metavar="<common command>", required=True
    ).add_parser(
        "add",
        help="add photos from a folder to the common pool",
        description="Add every photo under DIR (sub-folders included) to the common pool.",
        epilog="Exit status: 0 when no file was rejected, 1 otherwise (the other photos are stored).",
    )
    _add_folder_arguments(common_add)
    common_add.set_defaults(func=run_common_add)

    train = commands.add_parser(
        "train",
        help="train a new version",
        description="Request a new version of the project's classifier, like the API does. By default the job "
        "runs in this process with a progress bar and the new version is active when it returns; Ctrl-C "
        "cancels it and the previous version keeps serving. With --no-wait it is queued for `petclf worker`.",
        epilog="Exit status: 0 when the version was trained and activated, 1 when the job failed, 130 when cancelled.",
    )
    train.add_argument("name", help="the project's name")
    train.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="queue the job for a worker and return at once",
    )
    train.add_argument(
        "--forceful",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train even if the project has a model already (default: yes)",
    )
    train.set_defaults(func=run_train)

    status = commands.add_parser(
        "status",
        help="a project's photos, warnings, versions and job",
        description="A project's photo counts per class and side, its warnings, its versions "
        "with their accuracy and unknown threshold, and its current job.",
    )
    status.add_argument("name", help="the project's name")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    status.set_defaults(func=run_status)

    predict = commands.add_parser(
        "predict",
        help="classify images with a project's active version",
        description="Classify image files with the project's active version.",
        epilog="Exit status: 0 when every image was classified, 1 when any image failed.",
    )
    predict.add_argument("name", help="the project's name")
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    predict.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per image and line: {"file", "predictions": [{"label", "proba"}], "label", "unknown"}',
    )
    predict.set_defaults(func=run_predict)

    export = commands.add_parser(
        "export",
        help="write a version as a zip",
        description="Write a version's .h5, model card, labels.txt and TFLite file into a zip.",
    )
    export.add_argument("name", help="the project's name")
    export.add_argument(
        "--version", type=int, metavar="N", help="the version to export (default: the active one)"
    )
    export.add_argument(
        "--out", type=Path, required=True, metavar="FILE.zip", help="the zip to write"
    )
    export.set_defaults(func=run_export)


def _add_folder_arguments(parser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder of photos")
    parser.add_argument(
        "--side",
        choices=("train", "test"),
        help="put every photo on this side (default: each photo's stable side from its sha256, as `petclf split` does)",
    )


# create, list


def run_create(args) -> None:
    with session() as db:
        project = service.create(db, args.name, args.classes)
        labels = [label.name for label in project.classes]
    print(
        f"Created project {project.name}"
        + (f" with classes {', '.join(labels)}." if labels else ".")
    )


def run_list(args) -> None:
    with session() as db:
        rows = [_list_row(service.project_dict(db, project)) for project in service.listing(db)]
    if not rows:
        print("No projects yet; create one with `petclf project create NAME`.")
        return
    print(_table(("name", "classes", "photos", "active", "job"), rows))


def _list_row(project: dict) -> tuple:
    job = project["job"]
    return (
        project["name"],
        ", ".join(project["classes"]) or "-",
        project["photos"],
        f"v{project['active_version']}" if project["active_version"] else "-",
        _job_line(job) if job else "-",
    )


def _table(headers: tuple, rows: list[tuple]) -> str:
    cells = [tuple(map(str, row)) for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells
    )


# add, common add


def run_add(args) -> int:
    with session() as db:
        service.get(db, args.name)  # an unknown project is said before any folder is listed
    groups = [(args.label, args.dir, _files(args.dir))] if args.label else _class_groups(args.dir)
    for label, _, _ in groups:
        class_name(label)  # every name is checked before anything is stored
    return _ingest(args.name, groups, args.side)


def run_common_add(args) -> int:
    with session() as db:
        name = service.common_pool(db).name
    return _ingest(name, [(None, args.dir, _files(args.dir))], args.side)


def _class_groups(root: Path) -> list[tuple[str, Path, list[Path]]]:
    return [(folder.name, folder, files) for folder, files in class_listing(root)]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise Invalid(
            f"{folder} is not a folder."
            if folder.exists()
            else f"The folder {folder} does not exist."
        )
    files = class_files(folder)
    if not files:
        raise Invalid(f"The folder {folder} has no photos.")
    return files


def _ingest(name: str, groups: list[tuple[str | None, Path, list[Path]]], side: str | None) -> int:
    """Store every file, a batch per transaction; print the summary and each rejected file."""
    outcomes: list[tuple[Path, Outcome]] = []
    with tqdm(
        total=sum(len(files) for _, _, files in groups),
        unit="photo",
        desc="adding",
        file=sys.stderr,
        disable=None,
    ) as bar:
        for label, folder, files in groups:
            for start in range(0, len(files), BATCH):
                batch = files[start : start + BATCH]
                outcomes += zip(batch, _add_batch(name, label, folder, batch, side))
                bar.update(len(batch))
    counts = Counter(outcome.status for _, outcome in outcomes)
    near = sum(bool(outcome.near_duplicates) for _, outcome in outcomes)
    print(
        f"{name}: {counts['stored']} stored, {counts['duplicate']} duplicate, {counts['rejected']} rejected"
        + (f" ({near} near duplicates of other photos)" if near else "")
    )
    for path, outcome in outcomes:
        if outcome.status == "rejected":
            print(f"rejected {path}: {outcome.reason}")
    return 1 if counts["rejected"] else 0


def _add_batch(
    name: str, label: str | None, folder: Path, paths: list[Path], side: str | None
) -> list[Outcome]:
    """One outcome per path, in order: files that can't be read are rejected here, the rest by add_photos."""
    items = [_incoming(path, folder) for path in paths]
    readable = [item for item in items if isinstance(item, Incoming)]
    if readable:
        with session() as db:
            stored = iter(add_photos(db, service.get(db, name), label, readable, side=side))
    return [next(stored) if isinstance(item, Incoming) else item for item in items]


def _incoming(path: Path, folder: Path) -> Incoming | Outcome:
    display = path.relative_to(folder).as_posix()
    try:
        if path.stat().st_size > MAX_PHOTO_MB * 2**20:
            return Outcome(
                display,
                "rejected",
                reason=f"The file is over {MAX_PHOTO_MB} MB; no photo is that large.",
            )
        return Incoming(display, path.read_bytes())
    except OSError as exc:
        return Outcome(display, "rejected", reason=exc.strerror or str(exc))


# train


def run_train(args) -> int:
    with session() as db:
        job_id = service.request_training(db, service.get(db, args.name), forceful=args.forceful).id
    if not args.wait:
        from jobs import enqueue

        enqueue(job_id)
        print(
            f"Queued job {job_id}; a worker (`petclf worker`) will train it. "
            f"Follow it with `petclf project status {args.name}`."
        )
        return 0
    return _train_here(job_id)


def _train_here(job_id: str) -> int:
    """Run the job in this process (its training in a child process) while a bar follows its row."""
    from jobs.runner import run_job

    interrupted = False
    with futures.ThreadPoolExecutor(1) as executor:
        running = executor.submit(run_job, job_id)
        try:
            _follow(job_id, running)
        except KeyboardInterrupt:
            interrupted = True
            print("Cancelling the job…", file=sys.stderr)
            with session() as db:
                service.cancel(db, service.job(db, job_id))
        running.result()  # the runner kills a cancelled job's child within a poll
    job = _job(job_id)
    if job["state"] == "done":
        print(_result_line(job["result"]))
        return 0
    if job["state"] == "cancelled":
        print(f"Cancelled: {job['message']}", file=sys.stderr)
        return 130 if interrupted else 1
    raise ProjectError(f"Training failed: {job['error'] or job['state']}")


def _follow(job_id: str, running: futures.Future) -> None:
    """A progress bar following the job's phase, step of total and metrics until it ends."""
    phase = "queued"
    with tqdm(total=1, desc=phase, unit="step", file=sys.stderr, disable=None) as bar:
        while True:
            job = _job(job_id)
            if job["phase"] and job["phase"] != phase:
                phase = job["phase"]
                bar.reset(total=max(job["total"], 1))
                bar.set_description(phase)
            bar.n = min(job["step"], bar.total)
            bar.set_postfix(job["metrics"], refresh=False)
            bar.refresh()
            if running.done():
                return
            futures.wait([running], timeout=POLL_SECONDS)


def _job(job_id: str) -> dict:
    with session() as db:
        return service.job_dict(service.job(db, job_id))


def _result_line(result: dict) -> str:
    accuracy = (
        "no test photos"
        if result["accuracy"] is None
        else f"test accuracy {result['accuracy']:.1%}"
    )
    done = "trained and activated" if result.get("activated", True) else "trained, not activated"
    return f"v{result['version']} {done}: {accuracy}, unknown threshold {result['threshold']:.4f}."


# status


def run_status(args) -> None:
    with session() as db:
        project = service.get(db, args.name)
        status = {
            **service.project_dict(db, project),
            "versions": [
                service.version_dict(version, project.active_version)
                for version in project.versions
            ],
            "common_pool": service.pool_counts(db),
        }
    print(json.dumps(status, indent=2) if args.json else _status_text(status))


def _status_text(status: dict) -> str:
    lines = [
        f"{status['name']}: {status['photos']} photos"
        + (
            f", v{status['active_version']} active"
            if status["active_version"]
            else ", no model yet"
        )
    ]
    lines += [
        f"  {label}: {sides['train']} train, {sides['test']} test"
        for label, sides in status["classes"].items()
    ]
    pool = status["common_pool"]
    lines.append(f"common pool: {pool['train']} train, {pool['test']} test")
    lines += [f"warning: {warning}" for warning in status["warnings"]]
    for version in status["versions"]:
        accuracy = "-" if version["accuracy"] is None else f"{version['accuracy']:.1%}"
        lines.append(
            f"v{version['number']}{' (active)' if version['active'] else ''}: accuracy {accuracy}, "
            f"unknown threshold {version['threshold']:.4f}, {version['created_at'][:19].replace('T', ' ')}"
        )
    lines.append(f"job: {_job_line(status['job'])}" if status["job"] else "job: none")
    return "\n".join(lines)


def _job_line(job: dict) -> str:
    line = f"{job['state']} {job['id']}"
    if job["phase"]:
        line += f" ({job['phase']} {job['step']}/{job['total']})"
    return line


# predict, export


def run_predict(args) -> int:
    from classifier.commands import describe  # the lines `petclf predict` prints
    from projects.predict import predict_many

    contents = [_read(path) for path in args.images]
    with session() as db:
        answers = iter(
            predict_many(
                db,
                service.get(db, args.name),
                [data for data in contents if isinstance(data, bytes)],
            )
        )
    results = [next(answers) if isinstance(data, bytes) else data for data in contents]
    for path, result in zip(args.images, results):
        if isinstance(result, Exception):
            _print_failure(path, result, args.json)
        elif args.json:
            print(json.dumps({"file": str(path), **result.to_dict()}))
        else:
            print(describe(path, result))
    return 1 if any(isinstance(result, Exception) for result in results) else 0


def _read(path: Path) -> bytes | OSError:
    try:
        return path.read_bytes()
    except OSError as exc:
        return exc


def _print_failure(path: Path, exc: Exception, as_json: bool) -> None:
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if as_json:
        print(
            json.dumps(
                {"file": str(path), "error": {"code": type(exc).__name__, "message": message}}
            )
        )
    print(f"petclf project predict: {path}: {message}", file=sys.stderr)


def run_export(args) -> None:
    from projects.predict import export_zip

    with session() as db:
        name, data = export_zip(db, service.get(db, args.name), args.version)
    args.out.write_bytes(data)
    print(f"Wrote {args.out} ({name}, {len(data) / 2**20:.1f} MB).")
