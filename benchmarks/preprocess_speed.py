"""How fast `petclf preprocess` cleans a real photo set, against the original one-file-at-a-time loop.

    python benchmarks/preprocess_speed.py [--data ../shared/datasets/pets] [--workers N] [--rounds 3]

Both runs read the same photos and write 240×240 PNGs into a temporary folder. The preprocess
figure includes everything the stage does: decoding, EXIF orientation, padding, PNG encoding,
hashing, exact and near-duplicate removal, the manifest and the rejection list. Each round runs
both, alternately, and the median round is reported, since other work on the machine adds noise.
"""

import argparse
import os
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
                canvas.paste(image.convert("RGB"), ((SIZE - image.width) // 2, (SIZE - image.height) // 2))
                count += 1
                canvas.save(dst / folder.name / f"{folder.name}{count}.png")
            except Exception:  # the original loop had no checks; a bad file is simply skipped here
                continue
    return count


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "datasets" / "pets")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    images = sum(len(class_files(folder)) for folder in class_folders(args.data))
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            out = Path(scratch) / str(round_number)
            ours.append(timed(lambda: preprocess(args.data, out / "preprocess", workers=args.workers)))
            theirs.append(timed(lambda: original_loop(args.data, out / "original")))

    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"photos: {images} in {args.data.name}/, workers: {args.workers}, cores: {os.cpu_count()}, rounds: {args.rounds}")
    print(f"petclf preprocess: {ours_s:.2f} s  {images / ours_s:.0f} images/s  (rounds: {_list(ours)})")
    print(f"original loop:     {theirs_s:.2f} s  {images / theirs_s:.0f} images/s  (rounds: {_list(theirs)})")
    print(f"speed-up: {theirs_s / ours_s:.2f}x")


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f} s" for s in seconds)


if __name__ == "__main__":
    main()
