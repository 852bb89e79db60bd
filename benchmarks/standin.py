"""The stand-in model the benchmarks serve when no models/pets.h5 has been trained.

Trained briefly by the real training code on generated shapes, so it has the shipped
architecture (240×240 input, resized inside to the backbone size `petclf train` uses) and a
real model card: the right inference cost, toy accuracy.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKBONE = REPO / ".." / "shared" / "backbones" / "mobilenetv2_160_notop.weights.h5"


def stand_in_model(workdir: Path, arch: str = "mobilenet_v2") -> Path:
    """A model of the given architecture trained briefly on generated shapes: right cost, toy accuracy."""
    from tests.conftest import write_ood, write_split
    from training.train import TrainConfig, train

    print(
        f"models/pets.h5 not found: training a stand-in {arch} on generated shapes for this run ...",
        flush=True,
    )
    out = workdir / f"stand_in_{arch}.h5"
    if arch == "mobilenet_v2":
        weights = str(BACKBONE.resolve()) if BACKBONE.is_file() else "none"
        settings = dict(backbone_weights=weights, epochs=1, head_epochs=3)
    else:
        settings = dict(epochs=12)
    train(
        TrainConfig(
            data=write_split(workdir / "split"),
            out=out,
            arch=arch,
            batch_size=16,
            seed=1,
            ood=write_ood(workdir / "ood"),
            verbose=0,
            **settings,
        ),
        log=lambda message: None,
    )
    return out
