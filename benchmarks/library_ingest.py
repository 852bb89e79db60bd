"""Photo library: ingest speed against a naive loop, and query latency at 100,000 photos.

    python benchmarks/library_ingest.py [--photos 200] [--naive 40] [--rows 100000] [--keep DIR] [--workers N]
                                        [--noise 10]

Ingest: generated 12-megapixel JPEGs (4000×3000 with EXIF dates, GPS and orientation, textured so
they weigh what a heavy phone photo does: 5.1 MB at the default `--noise 10`, 3.3 MB at 4) go
through `library.ingest_paths` into a fresh store, first with the pet model only, then with the
ImageNet model too when `models/imagenet.h5` exists. The naive loop does what a script would: open,
`ImageOps.exif_transpose` (a full decode), EXIF read with exifread, classify one photo at a time
with the same pet model, nothing stored. Models, the geocoder's table and the fresh store's tables
are loaded or made before either clock starts. The naive loop runs on `--naive` photos (it is slow)
before and after the ingest. Both print photos/s and CPU time per photo (all threads), which the
load of a shared machine changes far less than photos/s. A rerun on the same folder, which finds
nothing new, is timed too.

Queries: `--rows` synthetic rows inserted straight into a fresh SQLite store (no images), then
`library.find` (page 1 of 50, with its total) for a mix of filters, each repeated; p50 and p95.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZE = (4000, 3000)
CITIES = [
    ("Paris", "France", 48.8566, 2.3522),
    ("Sydney", "Australia", -33.8688, 151.2093),
    ("New York City", "United States", 40.7128, -74.006),
    ("Rio de Janeiro", "Brazil", -22.9068, -43.1729),
    ("Tokyo", "Japan", 35.6895, 139.6917),
    ("Cape Town", "South Africa", -33.9249, 18.4241),
]
LABELS = ("cat", "dog", "bird", "fish", "hamster", "bearded_dragon", "unknown")
QUERIES = {
    "no filter": {},
    "class": {"class": "cat"},
    "2 classes + dates": {"class": ["cat", "dog"], "from": "2014-06-01", "to": "2014-07-31"},
    "near, 50 km": {"near": "48.8566,2.3522", "within_km": "50"},
    "near, 100 m": {"near": "48.8566,2.3522", "within_km": "0.1"},
    "place": {"place": "paris"},
    "tag": {"tag": "beach"},
    "without gps": {"without_gps": "only"},
    "class + near + dates": {
        "class": "dog",
        "near": "-33.8688,151.2093",
        "within_km": "30",
        "from": "2012-01-01",
        "to": "2016-12-31",
    },
}


def make_photo(number: int, folder: Path, noise_sigma: float) -> Path:
    """One textured 12 MP JPEG with EXIF: its own coarse pattern upscaled, plus fine noise (which
    sets the file's weight, and so its decoding time: every coefficient is entropy-decoded)."""
    from PIL import Image, ImageChops

    from tests.library.exifgen import make_exif

    rng = random.Random(number)
    coarse = Image.frombytes("RGB", (128, 96), rng.randbytes(128 * 96 * 3)).resize(
        SIZE, Image.Resampling.BICUBIC
    )
    noise = Image.effect_noise(SIZE, noise_sigma).convert("RGB")
    picture = ImageChops.add(coarse, noise, scale=1.0, offset=-128)
    city = CITIES[number % len(CITIES)]
    exif = make_exif(
        taken=datetime(2014, 1, 1) + timedelta(hours=7 * number),
        gps=(city[2] + rng.uniform(-0.05, 0.05), city[3]),
        orientation=(1, 1, 6, 3, 8)[number % 5],
    )
    path = folder / f"IMG_{number:04d}.jpg"
    picture.save(path, "JPEG", quality=90, exif=exif)
    return path


def photos(folder: Path, count: int, noise_sigma: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in range(count) if not (folder / f"IMG_{n:04d}.jpg").is_file()]
    if missing:
        print(f"generating {len(missing)} 12 MP JPEGs in {folder} …", flush=True)
        with ProcessPoolExecutor() as pool:
            list(pool.map(partial(make_photo, folder=folder, noise_sigma=noise_sigma), missing))
    return [folder / f"IMG_{n:04d}.jpg" for n in range(count)]


def ingest_rate(
    files: list[Path], objects: bool, work: Path, workers: int | None = None
) -> tuple[float, float, dict, float]:
    """(photos/s, CPU ms per photo over all threads, outcome counts, ms per file of a rerun that
    finds nothing new)."""
    from collections import Counter

    from library import Options, ingest_paths
    from library.engines import load_models
    from library.places import places
    from store import engine

    os.environ["PETCLF_HOME"] = str(work / f"home-{'objects' if objects else 'pets'}")
    options = Options(objects_model=objects)
    if workers:
        options.workers = workers
    # not timed: loaded once per process
    load_models(options.pets_model, options.objects_model, threads=options.workers)
    places([(0.0, 0.0)])  # the geocoder's table too
    engine()  # and the new store's tables, made once per library (0.2 s)
    started, cpu = time.perf_counter(), time.process_time()
    # the files, not their folder: a kept folder may hold more than --photos
    outcomes = ingest_paths(files, options=options)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    ingest_paths(files, options=options)  # again: every file is known
    rerun = (time.perf_counter() - started) / len(files) * 1000
    return (
        len(files) / elapsed,
        cpu / len(files) * 1000,
        Counter(outcome.status for outcome in outcomes),
        rerun,
    )


def naive_rate(files: list[Path]) -> tuple[float, float]:
    """(photos/s, CPU ms per photo)."""
    import exifread
    from PIL import Image, ImageOps

    from library.engines import load_models

    engine = load_models(objects=False).pets
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")  # the full decode
        with open(path, "rb") as handle:
            tags = exifread.process_file(handle, details=False)
        assert "EXIF DateTimeOriginal" in tags and "GPS GPSLatitude" in tags
        engine.predict_image(image)
    return len(files) / (time.perf_counter() - started), (time.process_time() - cpu) / len(
        files
    ) * 1000


def query_latency(rows: int, work: Path, repeats: int) -> dict[str, tuple[float, float]]:
    from library import Filters, find
    from store import session
    from tests.library.rows import insert_rows, row

    os.environ["PETCLF_HOME"] = str(work / "home-queries")
    rng = random.Random(1)
    values, tags = [], {}
    for number in range(rows):
        taken = datetime(2010, 1, 1) + timedelta(minutes=rng.randrange(10 * 365 * 24 * 60))
        place = {}
        if rng.random() < 0.7:
            city, country, latitude, longitude = rng.choice(CITIES)
            place = {
                "latitude": latitude + rng.gauss(0, 0.3),
                "longitude": longitude + rng.gauss(0, 0.3),
                "city": city,
                "country": country,
            }
        values.append(row(number, label=rng.choice(LABELS), taken_at=taken, **place))
        if rng.random() < 0.2:
            tags[number] = rng.sample(["beach", "snow", "night", "food", "people"], 2)
    started = time.perf_counter()
    with session() as db:
        insert_rows(db, values, tags)
    print(f"inserted {rows} rows in {time.perf_counter() - started:.1f} s")
    results = {}
    for name, query in QUERIES.items():
        filters = Filters.parse(query)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            with session() as db:
                found, total = find(db, filters, 1, 50)
            times.append((time.perf_counter() - started) * 1000)
        results[name] = (
            statistics.median(times),
            sorted(times)[int(0.95 * (len(times) - 1))],
            total,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument(
        "--naive", type=int, default=40, help="photos the naive loop classifies (it is slow)"
    )
    parser.add_argument("--rows", type=int, default=100_000, help="0: measure ingest only")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument(
        "--keep", type=Path, help="generate the photos here and reuse them next time"
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--noise",
        type=float,
        default=10,
        help="the photos' fine noise: 10 gives 5.1 MB, 4 gives 3.3 MB",
    )
    parser.add_argument(
        "--workers", type=int, help="ingest threads (default: the library's, one per core)"
    )
    args = parser.parse_args()
    # stores of 2 GB: gone afterwards
    with tempfile.TemporaryDirectory(prefix="library-bench-") as scratch:
        run(args, Path(scratch))


def run(args, work: Path) -> None:
    from classifier.artifact import model_path
    from library.engines import default_objects_model

    print(f"cores: {os.cpu_count()}, load average at the start: {os.getloadavg()[0]:.1f}")
    if not args.skip_ingest:
        folder = (args.keep or work) / f"photos-noise-{args.noise:g}"
        files = photos(folder, args.photos, args.noise)
        size = sum(path.stat().st_size for path in files) / len(files) / 1e6
        print(f"{len(files)} photos of {SIZE[0]}×{SIZE[1]}, {size:.1f} MB each on average")
        # The naive loop runs before and after (on other photos), so a change in the machine's load
        # during the run weighs on both sides of the comparison.
        # CPU time per photo is printed too: unlike photos/s, it hardly depends on what else runs.
        before, before_cpu = naive_rate(files[: args.naive])
        rate, cpu, counts, rerun = ingest_rate(files, False, work, args.workers)
        after, after_cpu = naive_rate(files[-args.naive :])
        naive, naive_cpu = (before + after) / 2, (before_cpu + after_cpu) / 2
        print(
            f"naive loop ({args.naive} photos, before and after): {before:.2f} and {after:.2f} photos/s, {naive_cpu:.0f} ms CPU per photo"
        )
        print(
            f"library ingest, pet model: {rate:.2f} photos/s ({rate / naive:.1f}× the naive loop), {cpu:.0f} ms CPU per photo {dict(counts)}; again (nothing new): {rerun:.2f} ms per file"
        )
        if default_objects_model(model_path()):
            rate, cpu, counts, rerun = ingest_rate(files, True, work, args.workers)
            print(
                f"library ingest, pet + ImageNet models: {rate:.2f} photos/s ({rate / naive:.1f}× the naive loop), {cpu:.0f} ms CPU per photo {dict(counts)}; again (nothing new): {rerun:.2f} ms per file"
            )
        print(f"load average now: {os.getloadavg()[0]:.1f}")
    if args.rows:  # 0: ingest only
        results = query_latency(args.rows, work, args.repeats)
        print(f"find(page 1 of 50 + total) at {args.rows} rows, {args.repeats} runs each:")
        for name, (p50, p95, total) in results.items():
            print(f"  {name:22} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   ({total} match)")
        print(
            f"  overall p50 of the per-filter medians: {statistics.median(p50 for p50, _, _ in results.values()):.1f} ms"
        )


if __name__ == "__main__":
    main()
