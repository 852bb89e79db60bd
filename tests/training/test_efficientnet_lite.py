"""The Keras EfficientNet-Lite0: PyTorch weights land in the right layers with the right layouts,
the whole network matches the reference ONNX file, a tiny one trains through the CLI, and the
ImageNet weights come from the shipped any-object model."""

import numpy as np
import pytest

from classifier.card import card_path, read_card
from tests import imagenet_reference as reference
from tests.conftest import write_ood, write_split
from tests.training.test_cli import assert_one_clear_line, run_cli
from training import backbones, efficientnet_lite, recipes
from training.errors import BackboneError
from training.export import load_h5

SIDE = 33  # odd: TF "same" padding pads one more pixel after than before


def torch_state(seed: int = 0) -> dict[str, np.ndarray]:
    """A random state dict with EfficientNet-Lite0's PyTorch names and layouts (running variances positive)."""
    rng = np.random.default_rng(seed)
    network = efficientnet_lite.backbone(SIDE)
    state = {}
    for name, prefix in efficientnet_lite.torch_names().items():
        shapes = [tuple(weight.shape) for weight in network.get_layer(name).weights]
        if name.endswith("_bn"):
            for key, shape in zip(("weight", "bias", "running_mean", "running_var"), shapes):
                state[f"{prefix}.{key}"] = (
                    rng.uniform(0.5, 1.5, shape)
                    if key in ("weight", "running_var")
                    else rng.normal(0, 0.1, shape)
                )
        # Keras (kh, kw, channels, 1) ← PyTorch (channels, 1, kh, kw)
        elif name.endswith("_depthwise_conv"):
            state[f"{prefix}.weight"] = rng.normal(0, 0.3, shapes[0]).transpose(2, 3, 0, 1)
        else:  # Keras (kh, kw, in, out) ← PyTorch (out, in, kh, kw)
            state[f"{prefix}.weight"] = rng.normal(0, 0.3, shapes[0]).transpose(3, 2, 0, 1)
    return {key: value.astype(np.float32) for key, value in state.items()}


def conv_nchw(
    x: np.ndarray, weight: np.ndarray, stride: int, depthwise: bool = False
) -> np.ndarray:
    """PyTorch's conv2d (cross-correlation, NCHW, weight (out, in, kh, kw), or (channels, 1, kh, kw)
    when depthwise) with TF "same" padding."""
    side, kernel = x.shape[2], weight.shape[-1]
    out = -(-side // stride)
    total = max((out - 1) * stride + kernel - side, 0)
    padded = np.pad(
        x, ((0, 0), (0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2))
    )
    result = np.zeros((x.shape[0], weight.shape[0], out, out), np.float64)
    for i in range(kernel):
        for j in range(kernel):
            patch = padded[:, :, i : i + stride * out : stride, j : j + stride * out : stride]
            if depthwise:  # each output channel sees only its own input channel
                result += patch * weight[:, 0, i, j].reshape(1, -1, 1, 1)
            else:
                result += np.einsum("nchw,oc->nohw", patch, weight[:, :, i, j])
    return result


def batch_norm(x: np.ndarray, state: dict, prefix: str) -> np.ndarray:
    shape = (1, -1, 1, 1)
    mean, var = (
        state[f"{prefix}.running_mean"].reshape(shape),
        state[f"{prefix}.running_var"].reshape(shape),
    )
    scale, bias = state[f"{prefix}.weight"].reshape(shape), state[f"{prefix}.bias"].reshape(shape)
    return (x - mean) / np.sqrt(var + efficientnet_lite.BN_EPSILON) * scale + bias


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6)


def test_pytorch_weights_land_in_the_right_layers_layer_by_layer(tmp_path):
    """The stem and the first two blocks (plain, stride 2 with expansion) against PyTorch's maths in numpy."""
    import keras

    state = torch_state()
    np.savez(tmp_path / "lite0.npz", **state)
    network = efficientnet_lite.backbone(SIDE)
    efficientnet_lite.load_npz(network, tmp_path / "lite0.npz")
    names = [
        "stem_relu",
        "block0_project_bn",
        "block1_expand_relu",
        "block1_depthwise_relu",
        "block1_project_bn",
    ]
    taps = keras.Model(network.input, [network.get_layer(name).output for name in names])
    x = np.random.default_rng(1).uniform(-1, 1, (2, SIDE, SIDE, 3)).astype(np.float32)
    ours = [np.asarray(output).transpose(0, 3, 1, 2) for output in taps.predict(x, verbose=0)]

    nchw = x.transpose(0, 3, 1, 2).astype(np.float64)
    stem = relu6(batch_norm(conv_nchw(nchw, state["_conv_stem.weight"], 2), state, "_bn0"))
    block0 = relu6(
        batch_norm(
            conv_nchw(stem, state["_blocks.0._depthwise_conv.weight"], 1, depthwise=True),
            state,
            "_blocks.0._bn1",
        )
    )
    block0 = batch_norm(
        conv_nchw(block0, state["_blocks.0._project_conv.weight"], 1), state, "_blocks.0._bn2"
    )
    expand = relu6(
        batch_norm(
            conv_nchw(block0, state["_blocks.1._expand_conv.weight"], 1), state, "_blocks.1._bn0"
        )
    )
    depthwise = relu6(
        batch_norm(
            conv_nchw(expand, state["_blocks.1._depthwise_conv.weight"], 2, depthwise=True),
            state,
            "_blocks.1._bn1",
        )
    )
    project = batch_norm(
        conv_nchw(depthwise, state["_blocks.1._project_conv.weight"], 1), state, "_blocks.1._bn2"
    )

    for name, mine, expected in zip(names, ours, [stem, block0, expand, depthwise, project]):
        assert mine.shape == expected.shape, name
        np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.fixture(scope="module")
def imagenet_network():
    problem = reference.missing(reference.ONNX, reference.NPZ, reference.REFERENCE)
    if problem:
        pytest.skip(problem)
    from training import imagenet

    return imagenet.build(reference.NPZ)[1]


def test_the_imagenet_network_matches_the_onnx_reference_on_random_inputs(imagenet_network):
    batch = reference.random_inputs(4)
    ours, theirs = imagenet_network.predict(batch, verbose=0), reference.onnx_logits(batch)
    assert np.abs(ours - theirs).max() <= 1e-3
    assert (reference.top5(ours) == reference.top5(theirs)).all()


def test_the_imagenet_network_matches_the_onnx_reference_on_the_reference_photos(imagenet_network):
    photos = reference.reference_photos()
    assert len(photos) == 25
    batch = np.stack([array for _, _, array in photos])
    ours, theirs = imagenet_network.predict(batch, verbose=0), reference.onnx_logits(batch)
    assert np.abs(ours - theirs).max() <= 1e-3
    assert (reference.top5(ours) == reference.top5(theirs)).all()


def test_a_tiny_lite0_trains_through_the_cli(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=6, test_per_class=2)
    ood = write_ood(tmp_path / "ood", count=8)
    out = tmp_path / "lite0.h5"
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        out,
        "--arch",
        "efficientnet_lite0",
        "--backbone-weights",
        "none",
        "--backbone-size",
        "96",
        "--epochs",
        "0",
        "--heads",
        "2",
        "--head-epochs",
        "2",
        "--ood",
        ood,
        "--quiet",
    )
    assert code == 0, err
    card = read_card(card_path(out))
    assert card["architecture"] == "efficientnet_lite0"
    assert card["backbone"] == {"name": "efficientnet_lite0", "input_size": 96, "weights": "none"}
    assert card["unknown"]["calibration"] == "out-of-fold" and card["training"]["heads"] == 2
    assert card["test_metrics"]["images"] == 6


def test_a_truncated_npz_is_one_clear_line(capsys, tmp_path):
    np.savez(tmp_path / "whole.npz", **torch_state())
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        "efficientnet_lite0",
        "--backbone-weights",
        tmp_path / "cut.npz",
        "--epochs",
        "0",
    )
    assert_one_clear_line(
        code, err, "train", "can't read the weights file", "cut.npz", "truncated or damaged"
    )


def test_weights_of_another_architecture_are_one_clear_line(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    mobilenet = recipes.build("mobilenet_v2", 3, backbone_weights="none", backbone_size=96).backbone
    mobilenet.save_weights(tmp_path / "mobilenet.weights.h5")
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        "efficientnet_lite0",
        "--backbone-weights",
        tmp_path / "mobilenet.weights.h5",
        "--epochs",
        "0",
    )
    assert_one_clear_line(
        code,
        err,
        "train",
        "mobilenet.weights.h5",
        "efficientnet_lite0 backbone",
        "another architecture",
    )

    np.savez(tmp_path / "other.npz", **{"conv1.weight": np.zeros((32, 3, 3, 3), np.float32)})
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        tmp_path / "m.h5",
        "--arch",
        "efficientnet_lite0",
        "--backbone-weights",
        tmp_path / "other.npz",
        "--epochs",
        "0",
    )
    assert_one_clear_line(
        code, err, "train", "is not EfficientNet-Lite0 weights", "_conv_stem.weight"
    )


def test_a_wrongly_shaped_npz_names_the_array(tmp_path):
    state = torch_state()
    state["_blocks.3._project_conv.weight"] = state["_blocks.3._project_conv.weight"][:, :-1]
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(BackboneError, match=r"_blocks\.3\._project_conv has shape"):
        efficientnet_lite.load_npz(efficientnet_lite.backbone(SIDE), tmp_path / "bad.npz")


def train_lite0_with_imagenet_weights(capsys, split, out):
    """`petclf train --arch efficientnet_lite0` with the default `--backbone-weights imagenet`."""
    return run_cli(
        capsys,
        "train",
        "--data",
        split,
        "--out",
        out,
        "--arch",
        "efficientnet_lite0",
        "--backbone-size",
        "96",
        "--epochs",
        "0",
        "--head-epochs",
        "2",
        "--quiet",
    )


def test_the_imagenet_weights_come_from_the_shipped_any_object_model(capsys, tmp_path):
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    out = tmp_path / "lite0.h5"
    code, _, err = train_lite0_with_imagenet_weights(capsys, split, out)
    assert code == 0, err
    assert read_card(card_path(out))["backbone"]["weights"] == "file:imagenet.h5"
    trained = recipes.backbone_layer(load_h5(out), efficientnet_lite.NAME).get_weights()
    shipped = recipes.backbone_layer(load_h5(backbones.IMAGENET_MODEL), efficientnet_lite.NAME)
    # head-only training (--epochs 0) leaves the backbone as loaded
    for ours, theirs in zip(trained, shipped.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_without_the_shipped_any_object_model_the_imagenet_weights_are_one_clear_line(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(backbones, "IMAGENET_MODEL", tmp_path / "models" / "imagenet.h5")
    split = write_split(tmp_path / "split", train_per_class=4, test_per_class=1)
    code, _, err = train_lite0_with_imagenet_weights(capsys, split, tmp_path / "m.h5")
    assert_one_clear_line(
        code, err, "train", "imagenet.h5, which is missing", "--backbone-weights", ".npz"
    )
