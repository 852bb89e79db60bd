"""How fast the upload path answers, against the original path, on this machine.

    python benchmarks/serve_latency.py [--model models/pets.h5] [--photo PATH] [--seconds 10]

Starts gunicorn as in production (deploy/gunicorn.conf.py, its default workers and threads) and
prints: model-only p50 per image, end-to-end HTTP p50 for a 1-megapixel and a 12-megapixel JPEG,
requests/s with 8 concurrent clients, and worker RSS. The original upload path (see
benchmarks/original_upload.py) runs in the same way on the same images as the baseline; the
ratios are printed at the end. Without models/pets.h5 it measures a MobileNetV2 of the same
shape (240×240 input, resized inside to the backbone size `petclf train` uses), trained briefly
on generated shapes for the run (benchmarks/standin.py).
"""

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import stand_in_model  # noqa: E402

from tests.servers import GunicornServer  # noqa: E402

SHARED_PHOTOS = REPO / "../shared/datasets/pets"
CLIENTS = 8
TARGETS = {
    "model_p50_ms": 15,
    "e2e_1mp_p50_ms": 40,
    "e2e_12mp_p50_ms": 150,
    "throughput_rps": 60,
    "worker_rss_mb": 500,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models/pets.h5")
    parser.add_argument(
        "--photo",
        type=Path,
        help="a photo to scale to 1 and 12 megapixels (default: a shared cat photo)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument(
        "--requests", type=int, default=40, help="sequential requests per latency figure"
    )
    args = parser.parse_args()

    print(
        f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows every figure)"
    )
    with tempfile.TemporaryDirectory(prefix="serve-latency-") as scratch:
        new, old = measure(args, Path(scratch))
    report(new, old)
    return 0


def measure(args, scratch: Path) -> tuple[dict, dict]:
    model = args.model if args.model.is_file() else stand_in_model(scratch)
    photos = {
        "1 MP": jpeg(source_photo(args.photo), 1_000_000),
        "12 MP": jpeg(source_photo(args.photo), 12_000_000),
    }
    print(
        f"model: {model}  photos: "
        + ", ".join(f"{k} = {len(v) / 1e6:.2f} MB" for k, v in photos.items())
    )

    new, old = {}, {}
    new["model_p50_ms"], old["model_p50_ms"] = model_only(model, args.requests * 5)
    for name, app, extra, figures in (
        ("petclf", "webapp:create_app()", (), new),
        (
            "original",
            "original_upload:create_app()",
            ("--pythonpath", str(REPO / "benchmarks")),
            old,
        ),
    ):
        env = {"ORIGINAL_UPLOAD_DIR": str(scratch)}
        with GunicornServer(
            model, scratch, workers=None, threads=None, app=app, extra_args=extra, env=env
        ) as server:
            figures["e2e_1mp_p50_ms"] = http_p50_ms(server.url, photos["1 MP"], args.requests)
            figures["e2e_12mp_p50_ms"] = http_p50_ms(
                server.url, photos["12 MP"], args.requests // 2
            )
            workers = server.worker_pids()
            cpu_before = cpu_seconds(workers)
            figures["throughput_rps"], answered = throughput(
                server.url, photos["1 MP"], args.seconds
            )
            # CPU the workers spent per request: what the figures above would be on idle cores
            # is bounded by this, whatever else the machine is running.
            figures["server_cpu_ms_per_request"] = (
                (cpu_seconds(workers) - cpu_before) / answered * 1000
            )
            figures["worker_rss_mb"] = max(rss_mb(pid) for pid in server.worker_pids())
        print(f"{name}: " + "  ".join(f"{key} {value:.1f}" for key, value in figures.items()))
    return new, old


def model_only(model: Path, repeats: int) -> tuple[float, float]:
    """p50 of one image through the engine's runtime, and through the original `model.predict`."""
    import keras

    from classifier import load_engine

    engine = load_engine(model)
    batch = np.random.RandomState(0).uniform(0, 255, (1, 240, 240, 3)).astype(np.float32)
    ours = p50_ms(lambda: engine.runner.run(batch), repeats)
    keras_model = keras.models.load_model(model, compile=False)
    keras_model.predict(batch, verbose=0)
    original = p50_ms(lambda: keras_model.predict(batch / 255.0, verbose=0), max(20, repeats // 5))
    return ours, original


class Client:
    """One keep-alive connection posting a prebuilt multipart body: a light client, so the
    measurement spends the shared CPU on the server rather than on building requests."""

    def __init__(self, url: str, data: bytes, name: str = "photo.jpg"):
        self.connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=60)
        boundary = "petclf-benchmark-boundary"
        self.body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        self.headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def post(self) -> None:
        self.connection.request("POST", "/api/v1/predict", body=self.body, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")

    def close(self) -> None:
        self.connection.close()


def p50_ms(call, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def http_p50_ms(url: str, data: bytes, repeats: int) -> float:
    client = Client(url, data)
    client.post()  # connect, and warm the worker that answers
    try:
        return p50_ms(client.post, repeats)
    finally:
        client.close()


def throughput(url: str, data: bytes, seconds: float) -> float:
    # Each user posts under their own file name: the original path saves uploads under it.
    clients = [Client(url, data, name=f"photo-{number}.jpg") for number in range(CLIENTS)]
    deadline = time.monotonic() + seconds

    def run(client: Client) -> int:
        done = 0
        while time.monotonic() < deadline:
            client.post()
            done += 1
        client.close()
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        total = sum(pool.map(run, clients))
    return total / (time.monotonic() - started), total


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def source_photo(path: Path | None) -> Image.Image:
    if path is None:
        candidates = (
            sorted((SHARED_PHOTOS / "cat").glob("*.jp*g")) if SHARED_PHOTOS.is_dir() else []
        )
        if not candidates:
            from tests.imagegen import shape_image

            return shape_image("cat", 1, size=(1600, 1200))
        path = max(candidates[:50], key=lambda p: p.stat().st_size)
    return Image.open(path).convert("RGB")


def jpeg(image: Image.Image, pixels: int) -> bytes:
    """The photo scaled to about `pixels`, as a phone-quality JPEG."""
    scale = (pixels / (image.width * image.height)) ** 0.5
    resized = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC
    )
    buffer = io.BytesIO()
    resized.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def report(new: dict, old: dict) -> None:
    print()
    print(f"{'measure':<18}{'petclf':>10}{'original':>10}{'speed-up':>10}{'target':>10}  met")
    for key, target in TARGETS.items():
        ours, theirs = new[key], old[key]
        higher_is_better = key == "throughput_rps"
        ratio = ours / theirs if higher_is_better else theirs / ours
        met = ours >= target if higher_is_better else ours <= target
        print(
            f"{key:<18}{ours:>10.1f}{theirs:>10.1f}{ratio:>9.1f}×{target:>10}  {'yes' if met else 'NO'}"
        )
    cpu_new, cpu_old = new["server_cpu_ms_per_request"], old["server_cpu_ms_per_request"]
    cores = os.cpu_count() or 1
    print(
        f"server CPU per 1 MP request: petclf {cpu_new:.1f} ms, original {cpu_old:.1f} ms ({cpu_old / cpu_new:.1f}×); "
        f"at most {cores * 1000 / cpu_new:.0f} requests/s on {cores} idle cores"
    )
    e2e = old["e2e_1mp_p50_ms"] / new["e2e_1mp_p50_ms"]
    print(f"\nend to end vs the original path (1 MP p50): {e2e:.1f}× faster (target ≥ 4×)")
    print(json.dumps({"petclf": new, "original": old}))


if __name__ == "__main__":
    sys.exit(main())
