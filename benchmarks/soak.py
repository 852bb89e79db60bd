"""Soak: many uploads at a fixed concurrency, with a share of hostile files, directly to gunicorn
and through nginx; does any request get lost, and does worker memory grow?

    python benchmarks/soak.py [--requests 10000] [--concurrency 16] [--hostile 0.15]
                              [--photos DIR | --generated] [--via direct,nginx] [--max-requests N]

Starts gunicorn as in production (deploy/gunicorn.conf.py: its workers, threads and recycling;
--max-requests overrides the recycling, 0 turns it off) serving --model, and for "nginx" a real
nginx with deploy/nginx-petclf.conf in front. Photos are read from --photos (by default the
shared pet photos beside the checkout, if there) or generated. Prints requests/s, errors by kind
(a lost request is one), the statuses per input kind, and each worker's RSS before and after.
Targets: 0 errors, 0 × 5xx, RSS growth ≤ 20%, ≥ 250 requests/s direct on 2 cores.

The client runs on the same cores, so requests/s is shared with it; the CPU time gunicorn itself
spent per request (master and workers, replaced workers included) is printed too, with the
requests/s the machine's cores would serve at that cost with the client elsewhere.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.deploy.nginx import SITE_TEMPLATE, NginxPrefix, render_template  # noqa: E402
from tests.load import EXPECTED_STATUS, generated_photos, photos_from, rss_mb, soak, upload_mix  # noqa: E402
from tests.servers import GunicornServer, free_port  # noqa: E402

SHARED_PHOTOS = REPO / "../shared/datasets/pets"
MAX_UPLOAD_MB = 10
WARM_UP_REQUESTS = 200  # every worker has loaded its model and decoded a few photos


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--hostile", type=float, default=0.15, help="share of hostile files (default 0.15)"
    )
    parser.add_argument(
        "--photos", type=Path, default=SHARED_PHOTOS, help="folder of photos (searched recursively)"
    )
    parser.add_argument(
        "--generated", action="store_true", help="generated photos instead of a folder's"
    )
    parser.add_argument("--via", default="direct,nginx", help="direct, nginx or both (default)")
    parser.add_argument(
        "--max-requests",
        type=int,
        help="gunicorn's worker recycling; 0 turns it off (default: the config's)",
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "pets.h5")
    args = parser.parse_args()

    photos = (
        generated_photos()
        if args.generated or not args.photos.is_dir()
        else photos_from(args.photos)
    )
    inputs = upload_mix(photos, hostile_share=args.hostile, max_upload_mb=MAX_UPLOAD_MB)
    recycling = () if args.max_requests is None else ("--max-requests", str(args.max_requests))
    source = (
        "generated"
        if args.generated or not args.photos.is_dir()
        else f"{len(photos)} from {args.photos.name}/"
    )
    print(
        f"{args.requests} uploads at concurrency {args.concurrency}, {args.hostile:.0%} hostile; photos: {source}; "
        f"cores {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="petclf-soak-") as scratch:
        env = {"PETCLF_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB), "PETCLF_HOME": scratch}
        with GunicornServer(
            args.model, Path(scratch), workers=None, threads=None, env=env, extra_args=recycling
        ) as web:
            for via in args.via.split(","):
                if via == "direct":
                    measure("direct", web.url, web, inputs, args)
                else:
                    with nginx_in_front(web) as url:
                        measure("nginx", url, web, inputs, args)


def measure(via: str, url: str, web: GunicornServer, inputs, args) -> None:
    soak(url, inputs, requests_total=WARM_UP_REQUESTS, concurrency=args.concurrency)
    before = rss_mb(web.worker_pids())
    cpu_before = server_cpu_seconds(web)
    result = soak(url, inputs, requests_total=args.requests, concurrency=args.concurrency)
    cpu_ms = (server_cpu_seconds(web) - cpu_before) / args.requests * 1000
    after = rss_mb(web.worker_pids())
    server_errors = sum(n for (_, status), n in result.statuses.items() if status >= 500)
    print(
        f"\n{via}: {result.answered} answered in {result.seconds:.1f} s = {args.requests / result.seconds:.0f} req/s; "
        f"errors {sum(result.errors.values())}, 5xx {server_errors}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"  gunicorn CPU {cpu_ms:.1f} ms a request: {os.cpu_count() * 1000 / cpu_ms:.0f} req/s on "
        f"{os.cpu_count()} cores with the client on another machine"
    )
    for (kind, error), n in sorted(result.errors.items()):
        print(f"  error {error} on {kind}: {n} (first: {result.first_error[kind, error][:160]})")
    for kind, expected in EXPECTED_STATUS.items():
        got = {status: n for (k, status), n in sorted(result.statuses.items()) if k == kind}
        mark = "" if set(got) <= {expected} else "  UNEXPECTED"
        print(f"  {kind:<10} expected {expected}: {got}{mark}")
    print(f"  worker RSS MB before {_rss_text(before)}; after {_rss_text(after)}")
    if set(before) == set(after):  # the same workers throughout: their growth is meaningful
        growth = max(after[pid] / before[pid] - 1 for pid in before)
        print(f"  largest worker growth {growth:+.1%} (target ≤ +20%)")
    else:
        print("  workers were replaced during the run (recycling): growth not comparable")


def server_cpu_seconds(web: GunicornServer) -> float:
    """CPU seconds of gunicorn's master, its live workers, and the workers it has reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in (web.process.pid, *web.worker_pids()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a worker that just exited: counted in the master's children
            continue
        # utime, stime, then (the master's only: workers have no reaped children) cutime, cstime
        total += sum(int(value) for value in fields[11:15]) / ticks
    return total


def _rss_text(rss: dict[int, float]) -> str:
    return ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(rss.items()))


class nginx_in_front:
    """deploy/nginx-petclf.conf rendered for loopback ports, in front of `web`."""

    def __init__(self, web: GunicornServer):
        self.port = free_port()
        site = render_template(
            SITE_TEMPLATE,
            LISTEN=f"127.0.0.1:{self.port}",
            SERVER_NAME="_",
            UPSTREAM=f"127.0.0.1:{web.port}",
            MAX_UPLOAD_KB=MAX_UPLOAD_MB * 1024,
            LOG_DIR="{prefix}/logs",
            STATIC_DIR="{prefix}/static",
        )
        self.front = NginxPrefix(site, static_source=REPO / "webapp" / "static")

    def __enter__(self) -> str:
        self.front.start(self.port)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.front.close()


if __name__ == "__main__":
    main()
