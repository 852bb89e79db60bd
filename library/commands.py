"""`petclf library …`: the photo library from the command line, on the same store as the web app.

petclf library add ~/Pictures/2014                      # recursive; a rerun adds only what is new
petclf library find --class cat --near 48.85,2.35 --within-km 50 --json
petclf library report --from 2014-06-01 --to 2014-07-31 --out report.html
petclf library export --class dog --rename-by-date ~/dogs-by-date
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from library.errors import LibraryError
from library.export import METADATA, export
from library.ingest import Options, ingest_paths
from library.photos import summary
from library.queries import MAX_PER_PAGE, WITHOUT_GPS, Filters, find
from library.report import write_report
from store import session

NOT_ADDED = ("duplicate", "damaged", "skipped")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "library",
        help="a photo library: add folders, find photos by class, date and place, report, export",
        description="The photo library in the store that the web app serves (PETCLF_HOME, PETCLF_DATABASE_URL): "
        "EXIF dates and GPS, places from offline reverse geocoding, predictions, near-duplicate groups.",
    )
    commands = parser.add_subparsers(
        dest="library_command", metavar="<library command>", required=True
    )

    add = commands.add_parser(
        "add",
        help="add every photo under folders",
        description="Add the photos under each DIR (sub-folders included, symbolic links followed once). Each photo "
        "is turned upright, dated (EXIF DateTimeOriginal, else DateTime, else the file time), placed (EXIF GPS), "
        "thumbnailed and classified. Exact duplicates are skipped, near duplicates grouped, damaged files listed "
        "with the reason. A rerun adds only what is new; an interrupted run keeps every photo it reported added.",
        epilog="Exit status: 0 when every file was added or known already, 1 when any was damaged or skipped.",
    )
    add.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="folders (or files) of photos"
    )
    add.add_argument(
        "--shared", action="store_true", help="keep the photos in the public gallery too"
    )
    add.add_argument(
        "--objects-model",
        type=Path,
        metavar="H5",
        help="the any-object model (default: imagenet.h5 beside the pet model, when it exists)",
    )
    add.add_argument("--no-objects", action="store_true", help="skip the any-object model")
    add.add_argument(
        "--workers",
        type=_positive,
        default=os.cpu_count() or 1,
        help="photos prepared at the same time (default: one per core)",
    )
    add.add_argument(
        "--json",
        action="store_true",
        help='one JSON line per file, as soon as it is final: {"name", "status", "reason", "photo_id", …}',
    )
    add.set_defaults(func=run_add)

    find_parser = commands.add_parser(
        "find",
        help="list the photos matching filters",
        description="The photos matching the filters, oldest first, a page at a time.",
    )
    _filter_arguments(find_parser)
    find_parser.add_argument("--page", type=_positive, default=1, help="the page (default: 1)")
    find_parser.add_argument(
        "--per-page",
        type=_positive,
        default=50,
        help=f"photos per page, at most {MAX_PER_PAGE} (default: 50)",
    )
    find_parser.add_argument(
        "--json",
        action="store_true",
        help='one JSON object: {"total", "page", "per_page", "photos": […]}',
    )
    find_parser.set_defaults(func=run_find)

    report = commands.add_parser(
        "report",
        help="write an HTML report of the photos matching filters",
        description="One self-contained HTML file (thumbnails embedded, no script, nothing fetched: it opens "
        "offline) with the plots per month and per class and a table of date, place, class, confidence and tags.",
    )
    _filter_arguments(report)
    report.add_argument(
        "--out", type=Path, required=True, metavar="FILE.html", help="the report to write"
    )
    report.set_defaults(func=run_report)

    export_parser = commands.add_parser(
        "export",
        help="copy the photos matching filters, renamed by date",
        description="Write an upright copy of each matching photo named YYYY-MM-DD_HHMMSS_<class>.<ext> "
        f"(file times set to the photo's), plus {METADATA}. DEST is replaced only when complete.",
    )
    _filter_arguments(export_parser)
    export_parser.add_argument(
        "--rename-by-date",
        dest="dest",
        type=Path,
        required=True,
        metavar="DEST",
        help="the folder to write (new, empty, or a previous export with --force)",
    )
    export_parser.add_argument(
        "--force", action="store_true", help="replace a previous export in DEST"
    )
    export_parser.set_defaults(func=run_export)


def _filter_arguments(parser) -> None:
    group = parser.add_argument_group("filters (all optional; together they narrow down)")
    group.add_argument(
        "--class",
        dest="classes",
        action="append",
        metavar="C",
        help="a predicted class (repeat for several)",
    )
    group.add_argument(
        "--tag",
        dest="tags",
        action="append",
        metavar="T",
        help="a tag (repeat: photos with all of them)",
    )
    group.add_argument(
        "--from", dest="date_from", metavar="YYYY-MM-DD", help="taken on or after this day"
    )
    group.add_argument(
        "--to", dest="date_to", metavar="YYYY-MM-DD", help="taken on or before this day"
    )
    group.add_argument("--near", metavar="LAT,LON", help="around this point (with --within-km)")
    group.add_argument(
        "--within-km", metavar="KM", help="the radius around --near, in km (0.1 is 100 m)"
    )
    group.add_argument(
        "--place", metavar="NAME", help="a city or country, as the photo's place names it"
    )
    group.add_argument(
        "--without-gps",
        choices=WITHOUT_GPS,
        help="photos without a position: include them (the default without --near), exclude them, or only them",
    )


def filters_from(args) -> Filters:
    """The CLI's filter flags, checked by the same parser as the query string's."""
    return Filters.parse(
        {
            "class": args.classes or [],
            "tag": args.tags or [],
            "from": args.date_from,
            "to": args.date_to,
            "near": args.near,
            "within_km": args.within_km,
            "place": args.place,
            "without_gps": args.without_gps,
        }
    )


def run_add(args) -> int:
    options = Options(
        workers=args.workers,
        objects_model=False if args.no_objects else (args.objects_model or True),
    )
    counts: Counter[str] = Counter()
    with tqdm(unit="photo", desc="adding", file=sys.stderr, disable=None) as bar:

        def progress(outcome, done: int, total: int) -> None:
            counts[outcome.status] += 1
            bar.total = total
            bar.update(done - bar.n)
            if args.json:
                # after its commit: safe to rely on
                print(json.dumps(outcome.to_dict()), flush=True)
            elif outcome.status in ("damaged", "skipped"):
                bar.write(f"{outcome.status} {outcome.name}: {outcome.reason}", file=sys.stdout)

        ingest_paths(args.dirs, options=options, progress=progress)
    if not args.json:
        print(
            f"{counts['added'] + counts['near_duplicate']} added ({counts['near_duplicate']} near duplicates, grouped), "
            f"{counts['duplicate']} already in the library, {counts['damaged']} damaged, {counts['skipped']} skipped"
        )
    return 1 if counts["damaged"] or counts["skipped"] else 0


def run_find(args) -> None:
    if args.per_page > MAX_PER_PAGE:
        raise LibraryError(f"--per-page must be at most {MAX_PER_PAGE}.")
    filters = filters_from(args)
    with session() as db:
        rows, total = find(db, filters, args.page, args.per_page)
        photos = [summary(row) for row in rows]
    if args.json:
        print(
            json.dumps(
                {"total": total, "page": args.page, "per_page": args.per_page, "photos": photos}
            )
        )
        return
    if not photos:
        print(
            "No photos match."
            if total == 0
            else f"No photos on page {args.page}; {total} match in all."
        )
        return
    print(f"{'id':>7}  {'taken':19}  {'class':16} {'conf':>5}  place · file · tags")
    for photo in photos:
        where = " · ".join(
            filter(None, (photo["place"] or "-", photo["name"], ",".join(photo["tags"])))
        )
        print(
            f"{photo['id']:>7}  {photo['taken_at'].replace('T', ' '):19}  {photo['label'][:16]:16} {photo['confidence']:>5.0%}  {where}"
        )
    first = (args.page - 1) * args.per_page + 1
    print(f"{first}–{first + len(photos) - 1} of {total} photos")


def run_report(args) -> None:
    filters = filters_from(args)
    temporary = args.out.with_name(f".{args.out.name}.partial")
    try:
        with session() as db, temporary.open("w", encoding="utf-8") as handle:
            count = write_report(db, filters, handle)
        os.replace(temporary, args.out)
    finally:
        temporary.unlink(missing_ok=True)
    print(f"{args.out}: {count} photos")


def run_export(args) -> None:
    filters = filters_from(args)
    with (
        session() as db,
        tqdm(unit="photo", desc="exporting", file=sys.stderr, disable=None) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        count = export(db, filters, args.dest, force=args.force, progress=progress)
    print(f"{args.dest}: {count} photos and {METADATA}")


def _positive(text: str) -> int:
    import argparse

    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return int(text)
