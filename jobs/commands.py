"""`petclf worker`: the job queue's consumer."""

import logging

from classifier.heatmap_client import heatmap_addr
from jobs.heatmap_process import HeatmapProcess
from jobs.queue import huey, queue_url
from jobs.runner import abandon_mine, recover

log = logging.getLogger("petclf.worker")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run queued jobs (project training) from PETCLF_QUEUE_URL",
        description=(
            "Take jobs from the queue (PETCLF_QUEUE_URL: a SQLite file in PETCLF_HOME by default, or "
            "redis://…) and run each in a child process that writes its progress to the store "
            "(PETCLF_DATABASE_URL). Jobs a stopped worker left running are marked failed at start. "
            "Several workers, on one host or many, may share a queue. It also runs the heat-map "
            'service ("why?" on a prediction) on PETCLF_HEATMAP_ADDR, default 127.0.0.1:9997.'
        ),
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        help="jobs run at the same time by this worker (default: 1; training uses every core)",
    )
    parser.add_argument(
        "--no-heatmaps",
        dest="heatmaps",
        action="store_false",
        help="don't run the heat-map service (another worker on this host or elsewhere runs it)",
    )
    parser.set_defaults(func=run_worker)


def run_worker(args) -> int:
    if args.heatmaps:
        heatmap_addr()  # a bad PETCLF_HEATMAP_ADDR is one line here, not a log in the child
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s petclf-worker %(levelname)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin and DDL notes are noise
    failed = recover()
    if failed:
        log.warning("marked %d job(s) failed: their worker stopped while they ran", failed)
    log.info("taking jobs from %s", queue_url().split("@")[-1])  # no password in the log
    heatmaps = HeatmapProcess()
    if args.heatmaps:
        heatmaps.start()
    try:
        # Huey backs off to 10 s between empty polls of a SQLite queue; a second keeps "Train" snappy.
        huey().create_consumer(
            workers=args.jobs, worker_type="thread", check_worker_health=True, max_delay=1.0
        ).run()
    finally:
        heatmaps.stop()
        stopped = abandon_mine()
        if stopped:
            log.warning("stopped %d running job(s); they are marked failed", stopped)
    return 0


def _positive(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return int(text)
