"""How long one "Why?" heat map takes through the heat-map service, on real photos.

    python benchmarks/heatmap.py [--model models/pets.h5] [--photos ../shared/datasets/pets] [--count 60]

Starts the heat-map service (`python -m jobs.heatmap_service`, as `petclf worker` does) on a free
loopback port with a temporary PETCLF_HOME, waits until it has loaded the model, then asks it for
one map at a time through classifier.heatmap_client, as the web app and the bot do: the photo's
bytes go over the socket, the service decodes and pads them, runs Grad-CAM and draws the PNG.
Prints the start-up time, p50, p90, the slowest request and the service's memory. The target is p50 ≤ 500 ms on 2 cores.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from classifier.heatmap_client import heatmap, ping  # noqa: E402
from preprocessing import ImageError, decode  # noqa: E402

SHARED_PHOTOS = REPO / "../shared/datasets/pets"
TARGET_P50_MS = 500
STARTUP_SECONDS = 180


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models/pets.h5")
    parser.add_argument("--photos", type=Path, default=SHARED_PHOTOS, help="one folder per class")
    parser.add_argument("--count", type=int, default=60, help="photos, spread over the classes")
    args = parser.parse_args()
    if not args.photos.is_dir():
        print(f"no photos at {args.photos}: pass --photos DIR (one folder per class)")
        return 1
    if not args.model.is_file():
        print(f"no model at {args.model}: pass --model PATH")
        return 1
    photos = spread(args.photos, args.count)
    print(
        f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{len(photos)} photos from {os.path.relpath(args.photos, REPO)}; "
        f"model {os.path.relpath(args.model, REPO)}"
    )
    with tempfile.TemporaryDirectory(prefix="heatmap-bench-") as home:
        address = f"127.0.0.1:{free_port()}"
        os.environ["PETCLF_HEATMAP_ADDR"] = address
        env = {**os.environ, "PETCLF_HOME": home, "PETCLF_MODEL": str(args.model.resolve())}
        started = time.perf_counter()
        service = subprocess.Popen(
            [sys.executable, "-m", "jobs.heatmap_service"],
            cwd=REPO,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(service, started)
            print(
                f"service ready (TensorFlow, model, traced map) in {time.perf_counter() - started:.1f} s"
            )
            measure(args.model.resolve(), photos)
            print(f"service memory (RSS) after the run: {rss_mb(service.pid):.0f} MB")
        finally:
            service.terminate()
            service.wait()
    return 0


def spread(root: Path, count: int) -> list[bytes]:
    """`count` photos taken evenly from each class folder's sorted files."""
    folders = sorted(folder for folder in root.iterdir() if folder.is_dir())
    per_class = max(1, count // len(folders))
    chosen = []
    for folder in folders:
        files = sorted(path for path in folder.iterdir() if path.is_file())
        step = max(1, len(files) // per_class)
        chosen += [path.read_bytes() for path in files[::step][:per_class]]
    return [data for data in chosen if readable(data)]


def readable(data: bytes) -> bool:
    """The shared sets may hold a file the image path refuses; such a file is skipped."""
    try:
        decode(data)
    except ImageError:
        return False
    return True


def wait_ready(service: subprocess.Popen, started: float) -> None:
    while not ping(timeout=2.0):
        if service.poll() is not None:
            raise SystemExit(f"the heat-map service stopped (exit status {service.returncode})")
        if time.perf_counter() - started > STARTUP_SECONDS:
            raise SystemExit(f"the heat-map service was not ready within {STARTUP_SECONDS} s")
        time.sleep(0.2)


def measure(model: Path, photos: list[bytes]) -> None:
    heatmap(model, photos[0])  # the first request after warm-up is not part of the figure
    times, labels = [], {}
    for data in photos:
        began = time.perf_counter()
        found = heatmap(model, data)
        times.append((time.perf_counter() - began) * 1000)
        labels[found.label] = labels.get(found.label, 0) + 1
    times.sort()
    p50 = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    print(f"heat maps: {len(times)}, explained labels {dict(sorted(labels.items()))}")
    print(
        f"one heat map through the service: p50 {p50:.0f} ms, p90 {p90:.0f} ms, "
        f"slowest {times[-1]:.0f} ms (target p50 ≤ {TARGET_P50_MS} ms: "
        f"{'met' if p50 <= TARGET_P50_MS else 'missed'})"
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
