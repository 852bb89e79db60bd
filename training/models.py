"""The model zoo. Every model is self-contained: it takes the padded 240×240 RGB image with values
0–255 and does its own resizing, rescaling and (in training only) augmentation, with built-in
Keras layers so the `.h5` loads anywhere without petclf's code. It outputs logits.
"""

from dataclasses import dataclass
from pathlib import Path

from preprocessing import IMAGE_SIZE
from training.errors import BackboneError

ARCHITECTURES = ("mobilenet_v2", "seed_cnn", "tiny_cnn")
BACKBONE_SIZES = (96, 128, 160, 192, 224)
WHITE = 255.0  # augmentation fills with the padding colour, so rotated corners look like padding
# MobileNetV2's top blocks (13 to 16 and the last convolution) are fine-tuned in phase 2.
FINE_TUNE_FROM = "block_13_expand"
HEAD_UNITS = 128


@dataclass
class Built:
    """A model, plus for transfer learning the parts phase 1 trains on cached features."""

    model: "object"  # keras.Model: image → logits
    backbone: "object | None" = None  # the pretrained part, frozen in phase 1
    features: "object | None" = None  # image → pooled backbone features (no augmentation)
    head: "object | None" = None  # pooled features → logits, sharing its layers with `model`
    weights_source: str = "none"


def build(arch: str, num_classes: int, *, backbone_weights: str = "imagenet", backbone_size: int = 160, seed: int = 1) -> Built:
    if arch == "mobilenet_v2":
        return _mobilenet_v2(num_classes, backbone_weights, backbone_size, seed)
    if arch == "seed_cnn":
        return Built(model=_seed_cnn(num_classes, seed))
    if arch == "tiny_cnn":
        return Built(model=_tiny_cnn(num_classes, seed))
    raise ValueError(f"unknown architecture {arch!r}")


def augmentation(seed: int):
    """Flip, small rotation, zoom and contrast; Keras only applies them while training."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.05, fill_mode="constant", fill_value=WHITE, seed=seed + 1),
            layers.RandomZoom((-0.15, 0.1), fill_mode="constant", fill_value=WHITE, seed=seed + 2),
            layers.RandomContrast(0.15, value_range=(0, 255), seed=seed + 3),
        ],
        name="augmentation",
    )


def _image_input():
    import keras

    return keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), dtype="float32", name="image")


def _mobilenet_v2(num_classes: int, weights: str, size: int, seed: int) -> Built:
    import keras
    from keras import layers

    if size not in BACKBONE_SIZES:
        raise BackboneError(f"the MobileNetV2 input size must be one of {', '.join(map(str, BACKBONE_SIZES))}, not {size}")
    backbone, source = _mobilenet_backbone(weights, size)
    backbone.trainable = False

    inputs = _image_input()
    resized = layers.Resizing(size, size, name="resize")(inputs)
    augmented = augmentation(seed)(resized)
    scaled = layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_rescale")(augmented)
    # training=False keeps batch normalisation in inference mode even while fine-tuning.
    pooled = layers.GlobalAveragePooling2D(name="pool")(backbone(scaled, training=False))
    classifier_head = head(int(pooled.shape[-1]), num_classes, seed=seed)
    model = keras.Model(inputs, classifier_head(pooled), name="mobilenet_v2_classifier")

    plain = layers.Rescaling(1 / 127.5, offset=-1.0)(layers.Resizing(size, size)(inputs))
    features = keras.Model(inputs, layers.GlobalAveragePooling2D()(backbone(plain, training=False)), name="features")
    return Built(model=model, backbone=backbone, features=features, head=classifier_head, weights_source=source)


def head(feature_size: int, num_classes: int, *, seed: int, name: str = "head"):
    """Pooled backbone features → logits. The hidden layer gives it room to map outlier-exposure
    photos to a flat output; 128 units keep a five-head ensemble under 15 MB."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(feature_size,)),
            layers.Dropout(0.2, seed=seed),
            layers.Dense(HEAD_UNITS, activation="relu"),
            layers.Dropout(0.3, seed=seed + 1),
            layers.Dense(num_classes),
        ],
        name=name,
    )


def ensemble(built: Built, heads: list):
    """The classifier with several heads on the one backbone, outputting their average logits."""
    import keras
    from keras import layers

    pooled = built.model.get_layer("pool").output
    logits = layers.Average(name="logits")([classifier_head(pooled) for classifier_head in heads])
    return keras.Model(built.model.inputs, logits, name="mobilenet_v2_classifier")


def _mobilenet_backbone(weights: str, size: int):
    from keras.applications import MobileNetV2

    shape = (size, size, 3)
    if weights == "none":
        return MobileNetV2(input_shape=shape, include_top=False, weights=None), "none"
    if weights == "imagenet":
        try:
            return MobileNetV2(input_shape=shape, include_top=False, weights="imagenet"), "imagenet"
        except Exception as exc:  # urllib/HTTP/SSL errors all mean the same to the user
            raise BackboneError(
                f"could not download the ImageNet weights for MobileNetV2 ({_first_line(exc)}); "
                "with no network, pass --backbone-weights PATH to a local weights file, or none"
            ) from None
    path = Path(weights)
    if not path.is_file():
        raise BackboneError(f"the backbone weights file {path} does not exist")
    backbone = MobileNetV2(input_shape=shape, include_top=False, weights=None)
    try:
        backbone.load_weights(str(path))
    except Exception as exc:  # h5py, Keras and OS errors for a damaged or mismatched file
        raise BackboneError(f"can't load backbone weights from {path}: {_first_line(exc)}") from None
    return backbone, f"file:{path.name}"


def fine_tune_top(built: Built) -> int:
    """Unfreeze the backbone's top blocks (batch normalisation stays frozen); return how many layers."""
    from keras import layers

    backbone = built.backbone
    backbone.trainable = True
    names = [layer.name for layer in backbone.layers]
    start = names.index(FINE_TUNE_FROM) if FINE_TUNE_FROM in names else int(len(names) * 0.8)
    unfrozen = 0
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= start and not isinstance(layer, layers.BatchNormalization)
        unfrozen += layer.trainable
    return unfrozen


def _seed_cnn(num_classes: int, seed: int):
    """The original project's CNN (Conv 32/64/128, flatten, Dense 512), trained from scratch.

    At 128 px its file is about 65 MB (the original's, at full size, was over 600 MB).
    """
    import keras
    from keras import layers

    inputs = _image_input()
    x = layers.Resizing(128, 128, name="resize")(inputs)
    x = augmentation(seed)(x)
    x = layers.Rescaling(1 / 255.0, name="rescale")(x)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.5, seed=seed)(x)
    return keras.Model(inputs, layers.Dense(num_classes, name="logits")(x), name="seed_cnn")


def _tiny_cnn(num_classes: int, seed: int):
    """A few thousand weights: enough for generated shapes, for tests and smoke runs."""
    import keras
    from keras import layers

    inputs = _image_input()
    x = layers.Resizing(48, 48, name="resize")(inputs)
    x = augmentation(seed)(x)
    x = layers.Rescaling(1 / 255.0, name="rescale")(x)
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, name="logits")(x), name="tiny_cnn")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
