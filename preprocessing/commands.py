"""`petclf preprocess` and `petclf split`."""

import argparse
import sys
import warnings
from pathlib import Path

from preprocessing.dataset import DEFAULT_HASH_THRESHOLD
from preprocessing.image import DEFAULT_MAX_PIXELS, IMAGE_SIZE


def register(subparsers) -> None:
    _register_preprocess(subparsers)
    _register_split(subparsers)


def _register_preprocess(subparsers) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="clean raw class folders into deduplicated 240×240 PNGs",
        description=(
            "Decode every image under SRC/<class>/ (format identified from the content), turn it "
            "upright, pad it onto a white SIZE×SIZE square and write DST/<class>/<class><n>.png, "
            "numbered in sorted source order. Broken and unsupported files, exact and near "
            "duplicates within a class, and pictures found under two classes (label conflicts) "
            "are left out and listed in DST/rejected.csv; DST/manifest.csv records every output. "
            "Source files are never modified."
        ),
    )
    _add_folders(parser, src="Images/raw", dst="Images/processed")
    parser.add_argument(
        "--size",
        type=_positive_int,
        default=IMAGE_SIZE,
        help="output side in pixels (default: 240)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="parallel processes (default: one per core)",
    )
    parser.add_argument("--force", action="store_true", help="replace an earlier output in DST")
    _add_hash_threshold(parser)
    parser.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse images with more pixels (default: %(default)s)",
    )
    parser.set_defaults(func=run_preprocess)


def _register_split(subparsers) -> None:
    parser = subparsers.add_parser(
        "split",
        help="split processed images into seeded, stratified train/test sets",
        description=(
            "Split SRC/<class>/ into DST/train/<class>/ and DST/test/<class>/ (hard links where "
            "possible, copies otherwise) and record it in DST/split.csv. The split is stratified "
            "per class and seeded: the same input and seed give the same split, byte for byte. "
            "Near-duplicate images always land on the same side. With --force and the same --seed, "
            "images already recorded in DST/split.csv keep their side, so adding images later never "
            "moves the test set. --check audits an existing DST instead and exits non-zero if an image on "
            "one side has a near duplicate on the other."
        ),
    )
    _add_folders(parser, src="Images/processed", dst="Test_train_sets")
    parser.add_argument(
        "--test-ratio",
        type=float,
        default=0.25,
        help="share of each class in the test set (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the assignment (default: %(default)s)"
    )
    parser.add_argument(
        "--check", action="store_true", help="audit the existing split in DST instead of splitting"
    )
    parser.add_argument("--force", action="store_true", help="replace an earlier split in DST")
    _add_hash_threshold(parser)
    parser.set_defaults(func=run_split)


def _add_folders(parser: argparse.ArgumentParser, src: str, dst: str) -> None:
    parser.add_argument(
        "--src",
        type=Path,
        default=Path(src),
        help=f"folder with one sub-folder per class (default: {src})",
    )
    parser.add_argument(
        "--dst", type=Path, default=Path(dst), help=f"output folder (default: {dst})"
    )


def _add_hash_threshold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hash-threshold",
        type=_hash_threshold,
        default=DEFAULT_HASH_THRESHOLD,
        metavar="K",
        help="perceptual-hash distance (0-64) at or under which two images count as the same picture "
        "(default: %(default)s)",
    )


def run_preprocess(args: argparse.Namespace) -> int:
    from preprocessing.clean import preprocess

    _quiet_pillow()
    result = preprocess(
        args.src,
        args.dst,
        size=args.size,
        workers=args.workers,
        force=args.force,
        hash_threshold=args.hash_threshold,
        max_pixels=args.max_pixels,
    )
    rows = [
        (label, s.files, s.kept, s.broken, s.duplicates, s.conflicts)
        for label, s in result.classes.items()
    ]
    totals = tuple(sum(int(row[i]) for row in rows) for i in range(1, 6))
    _print_table(
        ("class", "files", "kept", "broken", "duplicates", "conflicts"), rows + [("total", *totals)]
    )
    left_out = f"{len(result.rejected)} left out, listed in {args.dst / 'rejected.csv'}"
    print(f"Wrote {totals[1]} images to {args.dst}; {left_out}.")
    return 0


def run_split(args: argparse.Namespace) -> int:
    from preprocessing.split import check, split

    _quiet_pillow()
    if args.check:
        audit = check(args.dst, hash_threshold=args.hash_threshold)
        _print_counts(audit.counts)
        for train_file, test_file, distance in audit.leaks:
            print(f"near duplicate across sides (distance {distance}): {train_file} ~ {test_file}")
        if audit.leaks:
            print(
                f"petclf split: {len(audit.leaks)} near-duplicate pairs across train and test",
                file=sys.stderr,
            )
            return 1
        print("No near duplicates across train and test.")
        return 0

    result = split(
        args.src,
        args.dst,
        test_ratio=args.test_ratio,
        seed=args.seed,
        force=args.force,
        hash_threshold=args.hash_threshold,
    )
    _print_counts(result.counts)
    kept = (
        f" ({result.kept_sides} kept their side from the previous split)"
        if result.kept_sides
        else ""
    )
    print(f"Wrote the split to {args.dst}{kept}.")
    return 0


def _quiet_pillow() -> None:
    """Pillow's notices about odd files (corrupt EXIF, palette transparency) would bury the summary;
    every file that matters is reported in rejected.csv instead. Worker processes inherit this."""
    warnings.filterwarnings("ignore", module="PIL")


def _print_counts(counts) -> None:
    rows = [(label, c["train"], c["test"]) for label, c in counts.items()]
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    _print_table(("class", "train", "test"), rows)


def _print_table(header: tuple, rows: list[tuple]) -> None:
    """The first column left-aligned, numbers right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(row[0]).ljust(widths[0])] + [
            str(cell).rjust(w) for cell, w in zip(row[1:], widths[1:])
        ]
        print("  ".join(cells))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _hash_threshold(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 0 and 64, got {value}")
    return value
