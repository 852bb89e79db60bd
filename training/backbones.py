"""Pretrained backbones, each built with its weights from where the user says.

A backbone builder takes `weights` ("imagenet", "none" or a file path) and the input side, and
returns (Keras model: image scaled for it → feature map, a short description of the weights).
A weights file may always be one saved with `.save_weights()` from the backbone nested in a
trained model of the same architecture (see training.recipes.backbone_layer).
"""

import warnings
from pathlib import Path

from training import efficientnet_lite
from training.errors import BackboneError

# Accepted by `combined`: one weights source per part, in the parts' order.
PART_SEPARATOR = ","
# The any-object model (`python -m training.imagenet`), committed: EfficientNet-Lite0's ImageNet
# weights ship inside it.
IMAGENET_MODEL = Path(__file__).resolve().parent.parent / "models" / "imagenet.h5"


def mobilenet_v2(weights: str, size: int):
    from keras.applications import MobileNetV2

    shape = (size, size, 3)
    if weights == "imagenet":
        try:
            return MobileNetV2(input_shape=shape, include_top=False, weights="imagenet"), "imagenet"
        except Exception as exc:  # urllib/HTTP/SSL errors all mean the same to the user
            raise BackboneError(
                f"could not download the ImageNet weights for MobileNetV2 ({first_line(exc)}); "
                "with no network, pass --backbone-weights PATH to a local weights file, or none"
            ) from None
    backbone = MobileNetV2(input_shape=shape, include_top=False, weights=None)
    return backbone, _load(backbone, weights, "mobilenet_v2")


def efficientnet_lite0(weights: str, size: int):
    backbone = efficientnet_lite.backbone(size)
    if weights == "imagenet":
        return backbone, _lite0_from_imagenet_model(backbone)
    if weights.endswith(".npz"):
        efficientnet_lite.load_npz(backbone, _existing(weights))
        return backbone, f"file:{Path(weights).name}"
    return backbone, _load(backbone, weights, "efficientnet_lite0")


def combined(
    parts: list[tuple[str, "object", tuple[float, float]]], name: str, weights: str, size: int
):
    """Several backbones side by side on one image: raw 0–255 (size, size, 3) → their feature maps
    concatenated (all have stride 32). `parts`: (architecture, builder, scaling) each.

    `weights`: "none" or "imagenet" for every part, one source per part joined by commas, or one
    file saved from a combined backbone like this one.
    """
    import keras
    from keras import layers

    whole_file = PART_SEPARATOR not in weights and weights not in ("none", "imagenet")
    if whole_file:
        sources = ["none"] * len(parts)  # the file fills them below
    elif PART_SEPARATOR in weights:
        sources = weights.split(PART_SEPARATOR)
        if len(sources) != len(parts):
            raise BackboneError(
                f"{name} takes {len(parts)} comma-separated weights sources, one per part; got {len(sources)}"
            )
    else:
        sources = [weights] * len(parts)
    inputs = keras.Input(shape=(size, size, 3), name="image")
    maps, described = [], []
    for (arch, build, (scale, offset)), source in zip(parts, sources):
        part, description = build(source, size)
        maps.append(part(layers.Rescaling(scale, offset, name=f"{arch}_rescale")(inputs)))
        described.append(description)
    backbone = keras.Model(inputs, layers.Concatenate(name="feature_maps")(maps), name=name)
    if whole_file:
        return backbone, _load(backbone, weights, name)
    return backbone, PART_SEPARATOR.join(described)


def _lite0_from_imagenet_model(backbone) -> str:
    """EfficientNet-Lite0's ImageNet weights, from the backbone inside the shipped any-object model."""
    if not IMAGENET_MODEL.is_file():
        raise BackboneError(
            f"EfficientNet-Lite0's ImageNet weights come from {IMAGENET_MODEL}, which is missing; pass "
            "--backbone-weights PATH/efficientnet_lite0_imagenet.npz (or a .weights.h5 saved from a "
            "trained model's backbone)"
        )
    from training.export import load_h5
    from training.recipes import backbone_layer  # recipes builds its backbones from this module

    shipped = backbone_layer(load_h5(IMAGENET_MODEL), efficientnet_lite.NAME)
    backbone.set_weights(shipped.get_weights())
    return f"file:{IMAGENET_MODEL.name}"


def _load(backbone, weights: str, arch: str) -> str:
    """ "none" (random weights), or a Keras weights file saved from a backbone of this architecture."""
    if weights == "none":
        return "none"
    path = _existing(weights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            backbone.load_weights(str(path))
            # Keras only warns about the parts of a file that fit nowhere, leaving those layers random.
            skipped = [
                str(warning.message) for warning in caught if "Skipping" in str(warning.message)
            ]
            if skipped:
                raise ValueError(skipped[0])
        except Exception as exc:  # h5py, Keras and OS errors for a damaged or mismatched file
            raise BackboneError(
                f"can't load {path} into the {arch} backbone (a file for another architecture, or damaged?): "
                f"{first_line(exc).split(' Example error')[0]}"
            ) from None
    return f"file:{path.name}"


def _existing(weights: str) -> Path:
    path = Path(weights)
    if not path.is_file():
        raise BackboneError(f"the backbone weights file {path} does not exist")
    return path


def first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
