"""How closely petclf's Keras EfficientNet-Lite0 matches the reference ONNX file, and how fast the
any-object model answers.

    .venv/bin/python benchmarks/imagenet_parity.py [--model models/imagenet.h5]

Prints, for the 25 reference photos and for random inputs: the largest |logit difference|
between the Keras network (weights from the .npz) and the ONNX file (target ≤ 1e-3), whether
their top-5 are identical, and how many photos' top-5 labels equal those in
reference_outputs.json. Then the served model's p50 per image through the engine's runtime
(target ≤ 8 ms). Needs ../shared/models/imagenet (or $PETCLF_IMAGENET_SOURCE) and onnxruntime.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train_time_to_accuracy import model_p50_ms  # noqa: E402

from tests import imagenet_reference as reference  # noqa: E402

RANDOM_INPUTS = 16


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=REPO / "models" / "imagenet.h5",
        help="the served any-object model",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    problem = reference.missing(reference.ONNX, reference.NPZ, reference.REFERENCE)
    if problem:
        print(f"imagenet_parity: {problem}", file=sys.stderr)
        return 1

    from training import imagenet

    _, network = imagenet.build(reference.NPZ)
    photos = reference.reference_photos()
    batches = {
        f"{len(photos)} reference photos": np.stack([array for _, _, array in photos]),
        f"{RANDOM_INPUTS} random inputs": reference.random_inputs(RANDOM_INPUTS),
    }
    for name, batch in batches.items():
        ours, theirs = network.predict(batch, verbose=0), reference.onnx_logits(batch)
        same = (reference.top5(ours) == reference.top5(theirs)).all(axis=1)
        print(
            f"{name}: max |logit difference| {np.abs(ours - theirs).max():.2e} (target ≤ 1e-3); "
            f"identical top-5 on {same.sum()} of {len(batch)}"
        )
    # The reference table spells the names as ImageNet does, before imagenet.RENAMED.
    classes = [name for _, name in imagenet.read_classes(reference.SOURCE / imagenet.CLASSES)]
    ours = reference.top5(network.predict(batches[f"{len(photos)} reference photos"], verbose=0))
    names = [[classes[index] for index in row] for row in ours]
    agree = sum(row == expected for row, (_, expected, _) in zip(names, photos))
    print(f"top-5 labels equal to reference_outputs.json on {agree} of {len(photos)} photos")
    print(
        f"{args.model}: model p50 {model_p50_ms(args.model):.2f} ms per image (target ≤ 8 ms), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
