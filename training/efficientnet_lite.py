"""EfficientNet-Lite0 in Keras 3, and loading its ImageNet weights from the PyTorch-named `.npz`.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 instead of swish, and with
the stem (32) and top (1280) channels fixed. Padding is TF-style "same", batch normalisation
uses epsilon 1e-3, and no convolution has a bias. Its input is RGB scaled as (x − 127) / 128.
Drop-connect is left out: it only acts in training, and the backbone is normally frozen.

Keras layer names map one to one onto the PyTorch state-dict names (see `torch_names`).
"""

import zipfile
from pathlib import Path

import numpy as np

from training.errors import BackboneError

NAME = "efficientnet_lite0"
SCALE, OFFSET = 1 / 128, -127 / 128  # (x − 127) / 128
IMAGENET_SIZE = 224  # the side its ImageNet classifier was trained and checked at
CLASSES = 1000
TOP_CHANNELS = 1280
BN_EPSILON = 1e-3
# (repeats, kernel, stride of the first repeat, expansion, input channels, output channels),
# from the block strings r1_k3_s11_e1_i32_o16 … r1_k3_s11_e6_i192_o320.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def blocks() -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, expansion, input channels, output channels) of each of the 16 MBConv blocks."""
    found = []
    for repeats, kernel, stride, expansion, channels_in, channels_out in STAGES:
        for repeat in range(repeats):
            found.append(
                (
                    kernel,
                    stride if repeat == 0 else 1,
                    expansion,
                    channels_in if repeat == 0 else channels_out,
                    channels_out,
                )
            )
    return found


def backbone(size: int):
    """The network without its classifier: scaled (size, size, 3) → (size/32, size/32, 1280) feature map."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(size, size, 3), name="scaled_image")
    x = _conv_bn(inputs, 32, 3, 2, "stem")
    for index, (kernel, stride, expansion, channels_in, channels_out) in enumerate(blocks()):
        name = f"block{index}"
        y = x
        if expansion != 1:
            y = _conv_bn(y, channels_in * expansion, 1, 1, f"{name}_expand")
        y = layers.DepthwiseConv2D(
            kernel, stride, padding="same", use_bias=False, name=f"{name}_depthwise_conv"
        )(y)
        y = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(
            layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_depthwise_bn")(y)
        )
        y = layers.Conv2D(
            channels_out, 1, padding="same", use_bias=False, name=f"{name}_project_conv"
        )(y)
        y = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_project_bn")(y)
        x = (
            layers.Add(name=f"{name}_add")([x, y])
            if stride == 1 and channels_in == channels_out
            else y
        )
    x = _conv_bn(x, TOP_CHANNELS, 1, 1, "top")
    return keras.Model(inputs, x, name=NAME)


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str):
    from keras import layers

    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(
        x
    )
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def classifier_layer():
    """The ImageNet classifier on the pooled features (its weights are `_fc` in the .npz)."""
    from keras import layers

    return layers.Dense(CLASSES, name="logits")


def torch_names() -> dict[str, str]:
    """Keras layer name in `backbone` → PyTorch state-dict prefix."""
    names = {
        "stem_conv": "_conv_stem",
        "stem_bn": "_bn0",
        "top_conv": "_conv_head",
        "top_bn": "_bn1",
    }
    for index, (_, _, expansion, _, _) in enumerate(blocks()):
        torch = f"_blocks.{index}."
        if expansion != 1:
            names[f"block{index}_expand_conv"] = torch + "_expand_conv"
            names[f"block{index}_expand_bn"] = torch + "_bn0"
        names[f"block{index}_depthwise_conv"] = torch + "_depthwise_conv"
        names[f"block{index}_depthwise_bn"] = torch + "_bn1"
        names[f"block{index}_project_conv"] = torch + "_project_conv"
        names[f"block{index}_project_bn"] = torch + "_bn2"
    return names


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz, read now, so a damaged file fails here with one clear line."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise BackboneError(f"the backbone weights file {path} does not exist") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BackboneError(
            f"can't read the weights file {path} (truncated or damaged?): {exc}"
        ) from None


def load_npz(network, path: Path, classifier=None) -> None:
    """Set the weights of `backbone()`'s layers (and of `classifier_layer()`) from the PyTorch-named arrays.

    Every array must be there with the right shape; anything else is another network's file.
    """
    arrays = read_npz(path)
    targets = [(network.get_layer(name), prefix) for name, prefix in torch_names().items()]
    if classifier is not None:
        targets.append((classifier, "_fc"))
    for layer, prefix in targets:
        values = []
        for key in _torch_keys(layer, prefix):
            if key not in arrays:
                raise BackboneError(f"{path} is not EfficientNet-Lite0 weights: it has no {key}")
            values.append(_to_keras(layer, arrays[key]))
        if len(values) != len(layer.weights):
            raise ValueError(f"the layer {layer.name} must be built before its weights are loaded")
        for value, weight in zip(values, layer.weights):
            if value.shape != tuple(weight.shape):
                raise BackboneError(
                    f"{path} does not fit EfficientNet-Lite0: {prefix} has shape {value.shape}, not {tuple(weight.shape)}"
                )
        layer.set_weights(values)


def _torch_keys(layer, prefix: str) -> list[str]:
    from keras import layers

    if isinstance(layer, layers.BatchNormalization):
        return [f"{prefix}.{key}" for key in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, layers.Dense):
        return [f"{prefix}.weight", f"{prefix}.bias"]
    return [f"{prefix}.weight"]


def _to_keras(layer, array: np.ndarray) -> np.ndarray:
    """PyTorch layouts → Keras: conv (out, in, kh, kw) → (kh, kw, in, out); depthwise
    (channels, 1, kh, kw) → (kh, kw, channels, 1); dense (out, in) → (in, out)."""
    from keras import layers

    if isinstance(layer, layers.DepthwiseConv2D):  # a Conv2D subclass: test it first
        return array.transpose(2, 3, 0, 1) if array.ndim == 4 else array
    if isinstance(layer, layers.Conv2D):
        return array.transpose(2, 3, 1, 0) if array.ndim == 4 else array
    if isinstance(layer, layers.Dense):
        return array.T
    return array
