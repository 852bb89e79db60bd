"""`petclf scrape`: collect labelled photos from Flickr and Imgur into Images/raw."""

import argparse
import json
from pathlib import Path

from scraping.dedupe import DEFAULT_NEAR_DISTANCE
from scraping.downloader import DEFAULT_PER_HOST, DownloadLimits
from scraping.errors import PlanError
from scraping.plan import DEFAULT_LIMIT, load_plan
from scraping.politeness import DEFAULT_PAGES_PER_SECOND
from scraping.quality import DEFAULT_MAX_BYTES, DEFAULT_MIN_SIDE
from scraping.runner import Job, Options, run
from scraping.session import DEFAULT_RETRIES
from scraping.sources import MAX_PAGES, SOURCES

EXAMPLES = """\
examples:
  petclf scrape --source flickr --query "pet hamster" --class hamster --limit 200
  petclf scrape --plan scraping/classes.toml --limit-per-class 300
  FLICKR_API_KEY=... petclf scrape --source flickr --query kitten --class cat --license cc

Files land in <out>/<class>/<sha256 prefix>.<ext>, described row by row in <out>/manifest.csv.
Junk and duplicates are listed in <out>/rejected.csv and not fetched again; failed downloads are
retried by the next run. Rerunning continues where the last run stopped.
A plan run reports a source that fails (a consent wall, a region block, robots.txt, no results),
goes on with the others, and exits 1 at the end.
Flickr and Imgur use their APIs when FLICKR_API_KEY / IMGUR_CLIENT_ID are set (or --api).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "scrape",
        help="collect labelled photos from Flickr and Imgur",
        description="Collect labelled photos from Flickr and Imgur: politely (robots.txt, rate limits), "
        "resumably, and without junk (non-images, placeholders, tiny images, duplicates).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to collect (one query, or a plan)")
    what.add_argument("--source", choices=SOURCES, help="where to search")
    what.add_argument(
        "--query",
        action="append",
        metavar="TEXT",
        help='search text, e.g. "pet hamster" (repeat for several)',
    )
    what.add_argument(
        "--class", dest="label", help="class (folder) name the photos are filed under"
    )
    what.add_argument(
        "--limit",
        type=int,
        metavar="N",
        default=DEFAULT_LIMIT,
        help="stop when the class folder holds this many images (default %(default)s)",
    )
    what.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="TOML plan of classes and queries, e.g. scraping/classes.toml",
    )
    what.add_argument(
        "--limit-per-class",
        type=int,
        metavar="N",
        help="with --plan: overrides the plan's limit_per_class",
    )

    where = parser.add_argument_group("sources")
    where.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=Path("Images/raw"),
        help="output folder (default %(default)s)",
    )
    where.add_argument(
        "--base-url",
        default="",
        metavar="URL",
        help="root URL of the source (or of its API with --api), for a mirror or a test server; "
        "with --plan it applies to every source",
    )
    where.add_argument(
        "--api",
        action="store_true",
        help="use the source's API (FLICKR_API_KEY / IMGUR_CLIENT_ID must be set)",
    )
    where.add_argument(
        "--license",
        choices=("any", "cc"),
        default="any",
        help="cc: Creative Commons photos only (Flickr) (default %(default)s)",
    )

    manners = parser.add_argument_group("politeness and checks")
    manners.add_argument(
        "--ignore-robots",
        action="store_true",
        help="do not obey robots.txt (only with the site's permission; the run says so loudly)",
    )
    manners.add_argument(
        "--pages-per-second",
        type=float,
        metavar="RATE",
        default=DEFAULT_PAGES_PER_SECOND,
        help="page/API requests per second per host (default %(default)s)",
    )
    manners.add_argument(
        "--per-host",
        type=int,
        metavar="N",
        default=DEFAULT_PER_HOST,
        help="concurrent image downloads per image host (default %(default)s)",
    )
    manners.add_argument(
        "--min-side",
        type=int,
        metavar="PX",
        default=DEFAULT_MIN_SIDE,
        help="reject images smaller than this on the short side, in px (default %(default)s)",
    )
    manners.add_argument(
        "--max-mb",
        type=float,
        metavar="MB",
        default=DEFAULT_MAX_BYTES / 2**20,
        help="reject files larger than this many MiB (default %(default)g)",
    )
    manners.add_argument(
        "--near-distance",
        type=int,
        metavar="BITS",
        default=DEFAULT_NEAR_DISTANCE,
        help="perceptual-hash bits within which two images count as duplicates (default %(default)s)",
    )
    manners.add_argument(
        "--max-pages",
        type=int,
        metavar="N",
        default=MAX_PAGES,
        help="search pages per query at most (default %(default)s)",
    )
    manners.add_argument(
        "--retries",
        type=int,
        metavar="N",
        default=DEFAULT_RETRIES,
        help="retries per request on network errors, 429 and 5xx, with backoff (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the run summary as JSON")
    parser.set_defaults(func=run_command)


def run_command(args) -> int:
    jobs, single = _jobs(args)
    if (
        args.per_host < 1
        or args.pages_per_second <= 0
        or args.min_side < 1
        or args.max_mb <= 0
        or args.retries < 0
    ):
        raise PlanError(
            "--per-host, --pages-per-second, --min-side and --max-mb must be positive, --retries not negative"
        )
    options = Options(
        out=args.out,
        base_url=args.base_url,
        api=args.api,
        license=args.license,
        ignore_robots=args.ignore_robots,
        pages_per_second=args.pages_per_second,
        limits=DownloadLimits(
            per_host=args.per_host, min_side=args.min_side, max_bytes=int(args.max_mb * 2**20)
        ),
        near_distance=args.near_distance,
        max_pages=args.max_pages,
        retries=args.retries,
        stop_on_source_error=single,
    )
    result = run(jobs, options)
    total = result.total
    if args.json:
        print(
            json.dumps(
                {
                    "total": total.to_dict(),
                    "classes": {label: s.to_dict() for label, s in result.per_class.items()},
                }
            )
        )
    else:
        for label, summary in result.per_class.items():
            print("\n".join(summary.lines(f"class {label}")))
        if len(result.per_class) > 1:
            print("\n".join(total.lines("all classes")))
        if args.ignore_robots:
            print("NOTE: robots.txt was ignored for this run (--ignore-robots).")
    return 1 if total.source_errors else 0


def _jobs(args) -> tuple[list[Job], bool]:
    if args.plan:
        if args.source or args.query or args.label:
            raise PlanError("use either --plan or --source/--query/--class, not both")
        return load_plan(args.plan, args.limit_per_class), False
    missing = [
        flag
        for flag, value in (
            ("--source", args.source),
            ("--query", args.query),
            ("--class", args.label),
        )
        if not value
    ]
    if missing:
        raise PlanError(f"missing {', '.join(missing)} (or give --plan FILE)")
    if args.limit < 1:
        raise PlanError("--limit must be at least 1")
    return [Job(args.label, args.source, tuple(args.query), args.limit)], True
