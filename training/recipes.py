"""The recipe registry: every architecture `petclf train` knows, with its facts in one place.

A transfer recipe has a pretrained backbone: phase 1 trains a head on its cached pooled features
(`--heads K` cross-fits K heads), phase 2 may fine-tune the backbone's top. The others train
from scratch in one phase. A new backbone is one entry here plus its builder in
training.backbones.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from preprocessing import IMAGE_SIZE
from training import backbones, efficientnet_lite, models
from training.errors import BackboneError, TrainingError


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str  # one line for `petclf train --help`
    # the side images are resized to; for transfer recipes the default --backbone-size
    input_size: int
    # (scale, offset): 0–255 → the network's input; None: it scales itself
    scaling: tuple[float, float] | None
    epochs: int  # default --epochs: transfer recipes' fine-tuning epochs (0: heads only), the others' all epochs
    # Adam; for transfer recipes the heads' (fine-tuning divides it, see training.train)
    learning_rate: float
    # (weights, size) → (backbone, weights description); None: from scratch
    backbone: Callable | None = None
    scratch: Callable | None = None  # (num_classes, size=, scaling=, seed=) → keras.Model
    sizes: tuple[int, ...] = ()  # the backbone sides it accepts
    backbone_name: str = ""  # the nested backbone layer's name in a trained model, or how it starts
    # the first backbone layer phase 2 unfreezes; None: no fine-tuning
    fine_tune_from: str | None = None

    @property
    def transfer(self) -> bool:
        """A pretrained backbone: heads on cached features, and `--heads` cross-fitting, apply."""
        return self.backbone is not None


MOBILENET_V2 = Recipe(
    name="mobilenet_v2",
    summary="MobileNetV2 backbone: heads on its cached features, then its top fine-tuned",
    input_size=224,
    scaling=(1 / 127.5, -1.0),
    epochs=5,
    learning_rate=1e-3,
    backbone=backbones.mobilenet_v2,
    sizes=(96, 128, 160, 192, 224),
    backbone_name="mobilenetv2_1.00_",  # Keras adds the input side
    fine_tune_from="block_13_expand",  # blocks 13 to 16 and the last convolution
)
EFFICIENTNET_LITE0 = Recipe(
    name=efficientnet_lite.NAME,
    summary="EfficientNet-Lite0 backbone (ImageNet weights from its .npz): heads on its cached features",
    input_size=IMAGE_SIZE,  # the padded image as it is: on the pets, more accurate than 224 or 256 (models/README.md)
    scaling=(efficientnet_lite.SCALE, efficientnet_lite.OFFSET),
    epochs=0,
    learning_rate=1e-3,
    backbone=backbones.efficientnet_lite0,
    # Above 240 the padded image is enlarged: small things in it (a mosaic's photos, each
    # 120 px) then reach the scale ImageNet features know; on mosaics of the pets, tags at 480
    # reached mAP 0.97 against 0.90 at 240 (benchmarks/tags.py).
    sizes=(96, 128, 160, 192, 224, IMAGE_SIZE, 256, 320, 384, 480),
    backbone_name=efficientnet_lite.NAME,
    fine_tune_from="block12_expand_conv",  # the last four blocks and the top convolution
)
_PARTS = (MOBILENET_V2, EFFICIENTNET_LITE0)
_COMBINED = "_and_".join(part.name for part in _PARTS)
COMBINED = Recipe(
    name=_COMBINED,
    summary="both backbones' pooled features side by side (weights: one source per part, comma-separated)",
    input_size=MOBILENET_V2.input_size,
    scaling=None,  # each part scales its own copy of the image
    epochs=0,
    learning_rate=1e-3,
    backbone=partial(
        backbones.combined, [(part.name, part.backbone, part.scaling) for part in _PARTS], _COMBINED
    ),
    sizes=tuple(size for size in MOBILENET_V2.sizes if size in EFFICIENTNET_LITE0.sizes),
    backbone_name=_COMBINED,
)
SEED_CNN = Recipe(
    name="seed_cnn",
    summary="the original project's CNN, trained from scratch (the baseline)",
    input_size=128,
    scaling=(1 / 255.0, 0.0),
    epochs=40,
    learning_rate=1e-3,
    scratch=models.seed_cnn,
)
TINY_CNN = Recipe(
    name="tiny_cnn",
    summary="a few thousand weights, for tests and smoke runs",
    input_size=48,
    scaling=(1 / 255.0, 0.0),
    epochs=12,
    learning_rate=1e-2,
    scratch=models.tiny_cnn,
)
RECIPES = {
    recipe.name: recipe
    for recipe in (MOBILENET_V2, EFFICIENTNET_LITE0, COMBINED, SEED_CNN, TINY_CNN)
}
DEFAULT = MOBILENET_V2.name


def names() -> tuple[str, ...]:
    return tuple(RECIPES)


def get(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise TrainingError(
            f"unknown architecture {name!r}; petclf knows {', '.join(RECIPES)}"
        ) from None


def build(
    name: str,
    num_classes: int,
    *,
    backbone_weights: str = "imagenet",
    backbone_size: int | None = None,
    seed: int = 1,
) -> models.Built:
    """The untrained model of an architecture; a transfer recipe's backbone comes with its weights."""
    recipe = get(name)
    if not recipe.transfer:
        return models.Built(
            model=recipe.scratch(
                num_classes, size=recipe.input_size, scaling=recipe.scaling, seed=seed
            )
        )
    size = backbone_size or recipe.input_size
    if size not in recipe.sizes:
        raise BackboneError(
            f"the {name} input size must be one of {', '.join(map(str, recipe.sizes))}, not {size}"
        )
    backbone, source = recipe.backbone(backbone_weights, size)
    return models.transfer(
        name, backbone, recipe.scaling, num_classes, size=size, seed=seed, weights_source=source
    )


def backbone_layer(model, arch: str):
    """The backbone nested in a Keras model of the architecture `arch` (a trained .h5, loaded).

    Its `.save_weights("x.weights.h5")` makes a file that `build(arch, backbone_weights=...)` loads.
    """
    recipe = get(arch)
    if not recipe.transfer:
        raise TrainingError(f"{arch} has no pretrained backbone")
    found = [layer for layer in model.layers if layer.name.startswith(recipe.backbone_name)]
    if len(found) != 1:
        raise TrainingError(
            f"the model {model.name} has no {arch} backbone (a model of another architecture?)"
        )
    return found[0]
