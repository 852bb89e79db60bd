"""What a model update costs the requests in flight, through the production stack.

    python benchmarks/model_update.py [--model models/pets.h5] [--clients 2] [--updates 2]

Runs real nginx (the deploy site, unprivileged) in front of real gunicorn (deploy's config),
keeps N clients posting photos through nginx, and swaps the model with
deploy/update-model.sh (check, atomic switch, gunicorn HUP) a few times. Prints how long
each update took, how many requests overlapped it, how many failed (the goal: none), and
request latency before and during the updates. Without models/pets.h5 (and no --model), a
tiny CNN trained on generated shapes stands in, and the output says so.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import stand_in_model  # noqa: E402  (benchmarks/standin.py)

from tests.deploy.nginx import SITE_TEMPLATE, NginxPrefix, render_template  # noqa: E402
from tests.deploy.test_behind_nginx import STATIC, RequestStream, retrained_copy, update_model  # noqa: E402
from tests.servers import GunicornServer, free_port  # noqa: E402


def latency(outcomes, keep) -> str:
    values = sorted(end - start for start, end, _ in outcomes if keep(start, end))
    if not values:
        return "no requests"
    p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
    return f"{len(values)} requests, p50 {statistics.median(values) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=Path, help="model to serve (default: models/pets.h5, else a tiny stand-in)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=2,
        help="clients, each posting a photo every 50 ms or so (default: 2)",
    )
    parser.add_argument("--updates", type=int, default=2, help="model updates to time (default: 2)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="petclf-update-bench-") as scratch:
        workdir = Path(scratch)
        model = args.model or (REPO / "models/pets.h5")
        if not model.is_file():
            model = stand_in_model(workdir, "tiny_cnn")
        live = workdir / "models" / "current" / "pets.h5"
        live.parent.parent.mkdir()
        done = update_model(live, model, "--no-reload")
        if done.returncode != 0:
            sys.exit(done.stderr)
        with GunicornServer(live, workdir, workers=2, threads=4) as web:
            port = free_port()
            site = render_template(SITE_TEMPLATE, LISTEN=f"127.0.0.1:{port}", SERVER_NAME="_", UPSTREAM=f"127.0.0.1:{web.port}",
                                   MAX_UPLOAD_KB=10240, LOG_DIR="{prefix}/logs", STATIC_DIR="{prefix}/static")  # fmt: skip
            front = NginxPrefix(site, static_source=STATIC)
            try:
                front.start(port)
                windows = []
                with RequestStream(f"http://127.0.0.1:{port}", clients=args.clients) as stream:
                    time.sleep(3)
                    for n in range(args.updates):
                        new = retrained_copy(live, workdir / f"release{n}", f"bench-{n}")
                        started = time.monotonic()
                        done = update_model(live, new, PETCLF_RELOAD_WEB=f"kill -HUP {web.process.pid}",
                                            PETCLF_RESTART_TCP="", PETCLF_WEB_URL=web.url)  # fmt: skip
                        windows.append((started, time.monotonic()))
                        if done.returncode != 0:
                            sys.exit(done.stderr)
                        time.sleep(3)
            finally:
                front.close()

    outcomes = stream.outcomes
    failed = [outcome for _, _, outcome in outcomes if outcome != 200]
    in_update = lambda start, end: any(end >= a and start <= b for a, b in windows)  # noqa: E731
    print(
        f"model: {model} · {args.clients} clients through nginx → gunicorn (2 workers × 4 threads)"
    )
    for n, (a, b) in enumerate(windows, 1):
        print(
            f"update {n}: update-model.sh took {b - a:.1f} s (check, switch, HUP, new model served)"
        )
    print(
        f"requests: {len(outcomes)} in all, {sum(in_update(s, e) for s, e, _ in outcomes)} overlapping an update, {len(failed)} failed"
    )
    print(f"latency outside updates: {latency(outcomes, lambda s, e: not in_update(s, e))}")
    print(f"latency during updates:  {latency(outcomes, in_update)}")
    if failed:
        print(f"failures: {failed[:5]}")


if __name__ == "__main__":
    main()
