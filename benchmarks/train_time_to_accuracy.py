"""Train each recipe on the same split of the shared photos and print what it costs and reaches.

Runs (pick with --runs, seeds with --seeds):
- seed_cnn: the original CNN from scratch;
- mobilenet_v2_fine_tuned: a MobileNetV2 head, then its top fine-tuned;
- mobilenet_v2, efficientnet_lite0, mobilenet_v2_and_efficientnet_lite0: the shipped recipe on
  each backbone (five cross-fitted heads on frozen features, outlier exposure on half of the
  non-pet photos, the unknown threshold at 5% out-of-fold rejection).

    .venv/bin/python benchmarks/train_time_to_accuracy.py                    # preprocess + split first
    .venv/bin/python benchmarks/train_time_to_accuracy.py --data Test_train_sets --seeds 1 2 3
    .venv/bin/python benchmarks/train_time_to_accuracy.py --p50 models/pets.h5 benchmarks/out/*-seed1.h5

Per run: wall time, test accuracy, lowest class recall, in-class rejection on the test side,
false accepts on the held-out non-pets, file size, and the model p50 (one image through the
engine's runtime, as benchmarks/serve_latency.py measures it). Models and cards go to
benchmarks/out/ (git-ignored). Timings depend on what else the machine runs; the load average
is printed with each row; `--p50 MODEL...` measures only the model p50 of trained models again,
for a quieter moment.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEFAULT_PETS = SHARED / "datasets" / "pets"
DEFAULT_OOD = SHARED / "datasets" / "ood"
DEFAULT_MOBILENET = SHARED / "backbones" / "mobilenetv2_160_notop.weights.h5"
DEFAULT_LITE0 = SHARED / "models" / "imagenet" / "efficientnet_lite0_imagenet.npz"
SHIPPED_RECIPE = {"epochs": 0, "heads": 5, "ood_as_class": True, "max_reject_rate": 0.04}
RUNS = (
    "seed_cnn",
    "mobilenet_v2_fine_tuned",
    "mobilenet_v2",
    "efficientnet_lite0",
    "mobilenet_v2_and_efficientnet_lite0",
)
P50_REPEATS = 200
P50_WARMUP = 50


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pets",
        type=Path,
        default=DEFAULT_PETS,
        help="class folders of photos (when --data is not given)",
    )
    parser.add_argument("--data", type=Path, default=None, help="an existing split folder")
    parser.add_argument(
        "--ood",
        type=Path,
        default=DEFAULT_OOD,
        help="non-pet photos (outlier exposure + false accepts)",
    )
    parser.add_argument("--mobilenet-weights", default=str(DEFAULT_MOBILENET))
    parser.add_argument("--lite0-weights", default=str(DEFAULT_LITE0))
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument(
        "--p50", type=Path, nargs="+", metavar="MODEL", help="only measure these models' p50"
    )
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.p50:
        for model in args.p50:
            print(
                f"{model}: model p50 {model_p50_ms(model):.2f} ms, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or make_split(args.pets, Path(scratch))
        from training.train import train

        print(
            f"{'run':<36} {'seed':>4} {'wall':>6} {'accuracy':>8} {'min recall':>10} {'rejected':>8} "
            f"{'FAR':>6} {'MB':>5} {'p50 ms':>6} {'load':>5}",
            flush=True,
        )
        for run in args.runs:
            for seed in args.seeds:
                config = configure(run, seed, data, args)
                started = time.monotonic()
                card = train(config, log=lambda message: None)
                elapsed = time.monotonic() - started
                print_row(run, seed, elapsed, card, config.out)
    return 0


def configure(run: str, seed: int, data: Path, args):
    from training.train import TrainConfig

    out = args.out / f"{run}-seed{seed}.h5"
    weights = {"mobilenet_v2": args.mobilenet_weights, "efficientnet_lite0": args.lite0_weights}
    weights["mobilenet_v2_and_efficientnet_lite0"] = (
        f"{args.mobilenet_weights},{args.lite0_weights}"
    )
    common = {"data": data, "out": out, "seed": seed, "ood": args.ood, "verbose": 0}
    if run == "seed_cnn":
        return TrainConfig(arch=run, patience=6, **common)
    if run == "mobilenet_v2_fine_tuned":
        return TrainConfig(arch="mobilenet_v2", backbone_weights=weights["mobilenet_v2"], **common)
    return TrainConfig(arch=run, backbone_weights=weights[run], **SHIPPED_RECIPE, **common)


def print_row(run: str, seed: int, elapsed: float, card: dict, model: Path) -> None:
    metrics, unknown = card["test_metrics"], card["unknown"]
    recall = min(row["recall"] for row in metrics["per_class"].values())
    print(
        f"{run:<36} {seed:>4} {elapsed:>5.0f}s {metrics['accuracy']:>8.3f} {recall:>10.3f} "
        f"{metrics['in_class_reject_rate']:>8.3f} {unknown['false_accept_rate']:>6.3f} {card['h5_bytes'] / 1e6:>5.1f} "
        f"{model_p50_ms(model):>6.1f} {os.getloadavg()[0]:>5.1f}",
        flush=True,
    )


def model_p50_ms(model: Path) -> float:
    """One image through the engine's runtime, as served."""
    from classifier import load_engine

    runner = load_engine(model, threads=1).runner
    image = np.random.RandomState(0).uniform(0, 255, (1, 240, 240, 3)).astype(np.float32)
    for _ in range(P50_WARMUP):  # a process's first runs are slower (caches, the first packing)
        runner.run(image)
    timings = []
    for _ in range(P50_REPEATS):
        started = time.perf_counter()
        runner.run(image)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def make_split(pets: Path, scratch: Path) -> Path:
    petclf = [sys.executable, "-m", "petclf"]
    subprocess.run(
        [*petclf, "preprocess", "--src", pets, "--dst", scratch / "processed", "--force"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [
            *petclf,
            "split",
            "--src",
            scratch / "processed",
            "--dst",
            scratch / "Test_train_sets",
            "--seed",
            "1",
            "--test-ratio",
            "0.25",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return scratch / "Test_train_sets"


if __name__ == "__main__":
    sys.exit(main())
