"""How fast `petclf preprocess` cleans a real photo set, against the original one-file-at-a-time loop.

    python benchmarks/preprocess_speed.py [--data ../shared/datasets/pets] [--workers N] [--rounds 3]

Both runs read the same photos and write 240×240 PNGs into a temporary folder. The preprocess
figure includes everything the stage does: decoding, EXIF orientation, padding, PNG encoding,
hashing, exact and near-duplicate removal, the manifest and the rejection list. Each round runs
both, alternately (after one read of every photo to warm the disk cache), and the median round
is reported, since other work on the machine adds noise: the parallel stage needs idle cores to
show its speed, the one-file loop does not.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from preprocessing.clean import preprocess  # noqa: E402
from preprocessing.dataset import class_files, class_folders  # noqa: E402

SIZE = 240


def original_loop(src: Path, dst: Path) -> int:
    """The original scripts' approach: open, thumbnail, paste on a white square, save PNG."""
    count = 0
    warnings.simplefilter("ignore")  # Pillow's palette notices would flood the output
    for folder in class_folders(src):
        (dst / folder.name).mkdir(parents=True)
        for path in class_files(folder):
            try:
                image = Image.open(path)
                image.thumbnail((SIZE, SIZE))
                canvas = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
                canvas.paste(
                    image.convert("RGB"), ((SIZE - image.width) // 2, (SIZE - image.height) // 2)
                )
                count += 1
                canvas.save(dst / folder.name / f"{folder.name}{count}.png")
            except Exception:  # the original loop had no checks; a bad file is simply skipped here
                continue
    return count


def timed(fn) -> tuple[float, float]:
    """Wall-clock seconds, and CPU seconds of this process and its workers together."""
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    fn()
    return time.perf_counter() - start, _cpu_seconds() - cpu_start


def _cpu_seconds() -> float:
    own, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "datasets" / "pets")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    load_before = f"{os.getloadavg()[0]:.2f}"
    files = [path for folder in class_folders(args.data) for path in class_files(folder)]
    images = len(files)
    for path in files:  # warm the page cache, so neither side pays for the first read from disk
        path.read_bytes()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            out = Path(scratch) / str(round_number)
            ours.append(
                timed(
                    lambda out=out: preprocess(args.data, out / "preprocess", workers=args.workers)
                )
            )
            theirs.append(timed(lambda out=out: original_loop(args.data, out / "original")))

    ours_s, theirs_s = (
        statistics.median(t for t, _ in ours),
        statistics.median(t for t, _ in theirs),
    )
    ours_cpu, theirs_cpu = (
        statistics.median(c for _, c in ours),
        statistics.median(c for _, c in theirs),
    )
    print(
        f"photos: {images} in {args.data.name}/, workers: {args.workers}, cores: {os.cpu_count()}, rounds: {args.rounds}"
    )
    print(
        f"load average before: {load_before}, after: {os.getloadavg()[0]:.2f} (other work on the machine slows the wall clock)"
    )
    for name, wall, cpu, rounds in (
        ("petclf preprocess", ours_s, ours_cpu, ours),
        ("original loop", theirs_s, theirs_cpu, theirs),
    ):
        print(
            f"{name:18} {wall:6.2f} s  {images / wall:5.0f} images/s  "
            f"CPU {1000 * cpu / images:5.1f} ms/image  (rounds: {_list(t for t, _ in rounds)})"
        )
    print(
        f"speed-up: {theirs_s / ours_s:.2f}x wall clock, {theirs_cpu / ours_cpu:.2f}x CPU per image"
    )


def _list(seconds) -> str:
    return ", ".join(f"{s:.2f} s" for s in seconds)


if __name__ == "__main__":
    main()
