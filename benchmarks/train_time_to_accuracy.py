"""Train seed_cnn (the original CNN from scratch), mobilenet_v2 (transfer learning, head then
fine-tuning) and mobilenet_v2×5 (the shipped recipe: five cross-fitted heads, no fine-tuning) on
the same split of the shared photos; print the wall time and test accuracy of each.

    .venv/bin/python benchmarks/train_time_to_accuracy.py                    # preprocess + split first
    .venv/bin/python benchmarks/train_time_to_accuracy.py --data Test_train_sets

Models and cards go to benchmarks/out/ (git-ignored). Wall time depends on what else the machine
runs; the load average is printed with each figure.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PETS = ROOT.parent / "shared" / "datasets" / "pets"
DEFAULT_WEIGHTS = ROOT.parent / "shared" / "backbones" / "mobilenetv2_160_notop.weights.h5"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pets", type=Path, default=DEFAULT_PETS, help="class folders of photos (when --data is not given)")
    parser.add_argument("--data", type=Path, default=None, help="an existing split folder")
    parser.add_argument("--backbone-weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--seed-cnn-epochs", type=int, default=40)
    parser.add_argument("--mobilenet-epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or make_split(args.pets, Path(scratch))
        from training.train import TrainConfig, train

        runs = {
            "seed_cnn": TrainConfig(data=data, out=args.out / "seed_cnn.h5", arch="seed_cnn", epochs=args.seed_cnn_epochs,
                                    patience=6, verbose=0),
            "mobilenet_v2": TrainConfig(data=data, out=args.out / "mobilenet_v2.h5", arch="mobilenet_v2",
                                        backbone_weights=args.backbone_weights, epochs=args.mobilenet_epochs, verbose=0),
            # The shipped recipe: five cross-fitted heads on the frozen backbone, no fine-tuning.
            "mobilenet_v2×5": TrainConfig(data=data, out=args.out / "mobilenet_v2_heads.h5", arch="mobilenet_v2",
                                          backbone_weights=args.backbone_weights, epochs=0, heads=5, verbose=0),
        }
        print(f"{'architecture':<14} {'wall time':>10} {'test accuracy':>14} {'lowest class recall':>20} {'load avg':>9}")
        for name, config in runs.items():
            started = time.monotonic()
            card = train(config, log=lambda message: None)
            elapsed = time.monotonic() - started
            metrics = card["test_metrics"]
            recall = min(row["recall"] for row in metrics["per_class"].values())
            print(f"{name:<14} {elapsed:>9.0f}s {metrics['accuracy']:>14.3f} {recall:>20.3f} {os.getloadavg()[0]:>9.1f}",
                  flush=True)
    return 0


def make_split(pets: Path, scratch: Path) -> Path:
    petclf = [sys.executable, "-m", "petclf"]
    subprocess.run([*petclf, "preprocess", "--src", pets, "--dst", scratch / "processed", "--force"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*petclf, "split", "--src", scratch / "processed", "--dst", scratch / "Test_train_sets", "--seed", "1"],
                   check=True, stdout=subprocess.DEVNULL)
    return scratch / "Test_train_sets"


if __name__ == "__main__":
    sys.exit(main())
