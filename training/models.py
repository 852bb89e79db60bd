"""Model building blocks. Every model is self-contained: it takes the padded 240×240 RGB image with
values 0–255 and does its own resizing, rescaling and (in training only) augmentation, with built-in
Keras layers so the `.h5` loads anywhere without petclf's code. It outputs logits.

Which architectures exist, and their facts, is training.recipes' job.
"""

from dataclasses import dataclass

import numpy as np

from preprocessing import IMAGE_SIZE

WHITE = 255.0  # augmentation fills with the padding colour, so rotated corners look like padding
HEAD_UNITS = 128


@dataclass
class Built:
    """A model, plus for transfer learning the parts phase 1 trains on cached features."""

    model: "object"  # keras.Model: image → logits
    backbone: "object | None" = None  # the pretrained part, frozen in phase 1
    features: "object | None" = None  # image → pooled backbone features (no augmentation)
    head: "object | None" = None  # pooled features → logits, sharing its layers with `model`
    weights_source: str = "none"


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


def transfer(
    name: str,
    backbone,
    scaling: tuple[float, float] | None,
    num_classes: int,
    *,
    size: int,
    seed: int,
    weights_source: str,
) -> Built:
    """A frozen pretrained backbone, global average pooling and a head: the image classifier, plus the
    image → pooled features model that phase 1 caches (no augmentation)."""
    import keras
    from keras import layers

    backbone.trainable = False
    inputs = _image_input()
    augmented = augmentation(seed)(layers.Resizing(size, size, name="resize")(inputs))
    classifier_head = head(int(backbone.outputs[0].shape[-1]), num_classes, seed=seed)
    model = keras.Model(
        inputs,
        classifier_head(pooled(backbone, scaling, augmented, named=True)),
        name=f"{name}_classifier",
    )
    features = keras.Model(
        inputs, pooled(backbone, scaling, layers.Resizing(size, size)(inputs)), name="features"
    )
    return Built(
        model=model,
        backbone=backbone,
        features=features,
        head=classifier_head,
        weights_source=weights_source,
    )


def pooled(backbone, scaling: tuple[float, float] | None, images, named: bool = False):
    """0–255 images at the backbone's side → scaled as the backbone expects → its globally pooled features.

    `named`: call the layers "rescale" and "pool", where ensemble() and the benchmarks find the features.
    """
    from keras import layers

    if scaling is not None:
        images = layers.Rescaling(*scaling, name="rescale" if named else None)(images)
    # training=False keeps batch normalisation in inference mode even while fine-tuning.
    return layers.GlobalAveragePooling2D(name="pool" if named else None)(
        backbone(images, training=False)
    )


def head(feature_size: int, num_classes: int, *, seed: int, name: str = "head"):
    """Pooled backbone features → logits. The hidden layer gives it room to map outlier-exposure
    photos to a flat output, or to their own class; 128 units keep a five-head ensemble small."""
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


def linear_head(feature_size: int, num_classes: int, *, name: str = "head"):
    """Pooled backbone features → unit length → logits: the linear head of training.heads.fit_linear."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(feature_size,)),
            layers.UnitNormalization(name=f"{name}_unit"),
            layers.Dense(num_classes, name=f"{name}_logits"),
        ],
        name=name,
    )


def ensemble(built: Built, heads: list):
    """The classifier with several heads on the one backbone, outputting their average logits
    (with one head, its logits)."""
    import keras
    from keras import layers

    pooled = built.model.get_layer("pool").output
    outputs = [classifier_head(pooled) for classifier_head in heads]
    logits = outputs[0] if len(outputs) == 1 else layers.Average(name="logits")(outputs)
    return keras.Model(built.model.inputs, logits, name=built.model.name)


def fold_outlier_class(model, num_classes: int):
    """A model trained with the OOD photos as its last class → outputs over the real classes only:
    their log-probabilities in the full softmax. Softmax over them gives the classes' probabilities
    given that the photo is one of them; their logsumexp (the energy score) is the log-probability
    that it is one of them at all. Built-in layers only, so the .h5 still loads without petclf."""
    import keras
    from keras import layers

    log_probabilities = layers.Activation("log_softmax", name="log_probabilities")(model.outputs[0])
    drop = layers.Dense(num_classes, use_bias=False, trainable=False, name="classes_only")
    outputs = drop(log_probabilities)
    # keeps the first columns as they are
    drop.set_weights([np.eye(num_classes + 1, num_classes, dtype=np.float32)])
    return keras.Model(model.inputs, outputs, name=model.name)


def folded_logits(logits: np.ndarray | None, num_classes: int) -> np.ndarray | None:
    """What fold_outlier_class's model outputs, from the unfolded model's logits."""
    if logits is None:
        return None
    peak = logits.max(axis=1, keepdims=True)
    log_total = peak + np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
    return (logits - log_total)[:, :num_classes].astype(np.float32)


def fine_tune_top(built: Built, first_layer: str) -> int:
    """Unfreeze the backbone from `first_layer` on (batch normalisation stays frozen); return how many layers."""
    from keras import layers

    backbone = built.backbone
    backbone.trainable = True
    names = [layer.name for layer in backbone.layers]
    start = names.index(first_layer)
    unfrozen = 0
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= start and not isinstance(layer, layers.BatchNormalization)
        unfrozen += layer.trainable
    return unfrozen


def seed_cnn(num_classes: int, *, size: int, scaling: tuple[float, float], seed: int):
    """The original project's CNN (Conv 32/64/128, flatten, Dense 512), trained from scratch.

    At 128 px its file is about 65 MB (the original's, at full size, was over 600 MB).
    """
    import keras
    from keras import layers

    inputs = _image_input()
    x = layers.Resizing(size, size, name="resize")(inputs)
    x = augmentation(seed)(x)
    x = layers.Rescaling(*scaling, name="rescale")(x)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.5, seed=seed)(x)
    return keras.Model(inputs, layers.Dense(num_classes, name="logits")(x), name="seed_cnn")


def tiny_cnn(num_classes: int, *, size: int, scaling: tuple[float, float], seed: int):
    """A few thousand weights: enough for generated shapes, for tests and smoke runs."""
    import keras
    from keras import layers

    inputs = _image_input()
    x = layers.Resizing(size, size, name="resize")(inputs)
    x = augmentation(seed)(x)
    x = layers.Rescaling(*scaling, name="rescale")(x)
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, name="logits")(x), name="tiny_cnn")
