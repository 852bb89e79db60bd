"""How closely petclf's Keras EfficientNet-Lite0 matches the reference ONNX file, and how fast the
any-object model answers.

    .venv/bin/python benchmarks/imagenet_parity.py [--model models/imagenet.h5]

Prints, for the 25 reference photos and for random inputs: the largest |logit difference|
between the Keras network (weights from the .npz) and the ONNX file (target ≤ 1e-3), whether
their top-5 are identical, and how many photos' top-5 labels equal those in
reference_outputs.json. Before those, the served model's p50 per image through the engine's
runtime (target ≤ 8 ms). Needs ../shared/models/imagenet (or $PETCLF_IMAGENET_SOURCE) and onnxruntime.

Last, the served runtime (int8 when models/imagenet.runtime.json says so) against the .h5 on the
pet photos of ../shared/datasets/pets that its int8 build neither calibrated nor checked on: how
often their top labels agree, and how often each one's top label names the photo's kind of pet
(PET_CLASSES: the ImageNet classes of cats, dogs, ...), which is accuracy on real photos at the
only grain these photos are labelled.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train_time_to_accuracy import model_p50_ms  # noqa: E402

from tests import imagenet_reference as reference  # noqa: E402

RANDOM_INPUTS = 16
PETS = REPO.parent / "shared" / "datasets" / "pets"
# The ImageNet classes (indices in imagenet_classes.tsv) of each kind of pet in PETS.
PET_CLASSES = {
    "cat": range(281, 286),
    "dog": range(151, 269),
    "bird": [*range(7, 25), *range(80, 101), *range(127, 147)],
    "fish": [*range(0, 7), *range(389, 398)],
    "hamster": [333],
    "bearded_dragon": range(38, 49),
}


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

    # First: onnxruntime's threads keep spinning for a while after each run, on the same cores.
    print(
        f"{args.model}: model p50 {model_p50_ms(args.model):.2f} ms per image (target ≤ 8 ms), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
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
    if PETS.is_dir():
        served_on_pet_photos(args.model)
    return 0


def served_on_pet_photos(model: Path) -> None:
    from classifier import load_engine
    from classifier.export import KerasRunner, answer_agreement
    from classifier.runtime import runtime_paths
    from preprocessing.dataset import class_files
    from training import imagenet
    from training.data import Example, load_images

    engine = load_engine(model)
    int8 = json.loads(runtime_paths(model)[1].read_text()).get("int8", {})
    used = int8.get("calibration_photos", 0) + int8.get("check_photos", 0)
    used_files = set(imagenet.int8_photo_order(PETS.parent)[:used])
    kinds = list(PET_CLASSES)
    examples = [
        Example(path, index)
        for index, kind in enumerate(kinds)
        for path in class_files(PETS / kind)
        if path not in used_files
    ]
    images = load_images(examples, "pet photos")
    keras = KerasRunner(model, engine.artifact.input_size)
    served, h5 = (
        np.concatenate([run(images.pixels[i : i + 64]) for i in range(0, len(images.pixels), 64)])
        for run in (engine.runner.run, keras.run)
    )
    tops = [reference.top5(outputs) for outputs in (served, h5)]
    # the int8 build's own check: each top label among the other's five
    among = answer_agreement(
        *(engine.artifact.score(raw) for raw in (served, h5)), engine.artifact.card
    )
    named = {
        name: np.mean(
            [top[0] in PET_CLASSES[kinds[label]] for top, label in zip(rows, images.labels)]
        )
        for name, rows in (("the .h5", tops[1]), (f"the served {engine.precision}", tops[0]))
    }
    print(
        f"{len(images.labels)} pet photos the int8 build didn't use: top label the .h5's on "
        f"{np.mean(tops[0][:, 0] == tops[1][:, 0]):.1%}, each top label among the other's five on "
        f"{among:.1%}; top label names the kind of pet: "
        + ", ".join(f"{name} {share:.1%}" for name, share in named.items())
    )


if __name__ == "__main__":
    sys.exit(main())
