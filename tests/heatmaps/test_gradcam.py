"""Grad-CAM on real models: a tiny CNN trained in the session looks at the shape it names, and
every recipe (nested backbones included) and both shipped models give a map and an overlay."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preprocessing import IMAGE_SIZE, load_padded, to_array
from tests.conftest import TINY_LABELS
from tests.imagegen import drawn_shape, encode
from training import recipes
from training.export import load_h5
from training.gradcam import GradCam, GradCamError, feature_layer
from training.overlay import overlay_png, peak

SMALL_BACKBONE = 96  # the smallest side every transfer recipe accepts: quick to build and run


def test_the_peak_of_the_tiny_models_map_lies_inside_the_shape(tiny_model):
    cam = GradCam(load_h5(tiny_model))
    inside, total = 0, 0
    for label in TINY_LABELS:
        for seed in range(20_000, 20_006):  # drawings neither training nor testing used
            image, mask = drawn_shape(label, seed)
            found = cam.compute(to_array(image), class_index=TINY_LABELS.index(label))
            x, y = peak(found.map, image.size)
            inside += mask.getpixel((x, y)) == 255
            total += 1
    # The shapes cover 16–49 % of the picture, so a map that ignored them would land inside
    # about a third of the time.
    assert inside / total >= 0.8, f"the peak was inside the shape {inside} times of {total}"


def test_the_top_class_is_explained_unless_another_is_asked_for(tiny_model):
    model = load_h5(tiny_model)
    cam = GradCam(model)
    image = to_array(drawn_shape("dog", 20_100)[0])
    top = cam.compute(image)
    assert top.class_index == int(np.argmax(model(image[None], training=False)[0]))
    np.testing.assert_allclose(top.outputs, model(image[None], training=False)[0], atol=1e-4)
    other = (top.class_index + 1) % len(TINY_LABELS)
    assert cam.compute(image, class_index=other).class_index == other
    with pytest.raises(GradCamError, match="3 classes"):
        cam.compute(image, class_index=3)


@pytest.mark.parametrize("arch", recipes.names())
def test_every_recipe_has_a_map_on_its_last_convolutional_feature_map(arch):
    recipe = recipes.get(arch)
    size = SMALL_BACKBONE if recipe.transfer else None
    model = recipes.build(arch, 3, backbone_weights="none", backbone_size=size).model
    cam = GradCam(model)
    if recipe.transfer:  # the map is the nested backbone's, not a layer of the outer model
        assert cam.layer.name.startswith(recipe.backbone_name)
    found = cam.compute(to_array(drawn_shape("cat", 1)[0]))
    side = cam.layer.output.shape[1]
    assert found.map.shape == (side, side) and side > 1
    assert np.isfinite(found.map).all() and 0 <= found.map.min() <= found.map.max() <= 1
    assert 0 <= found.class_index < 3


@pytest.mark.parametrize("name", ["pets", "imagenet"])
def test_the_shipped_models_give_an_overlay_of_the_padded_photo(name):
    path = Path("models") / f"{name}.h5"
    cam = GradCam(load_h5(path))
    photo = load_padded(encode(drawn_shape("dog", 7, size=(320, 200))[0], "JPEG"))
    found = cam.compute(to_array(photo))
    assert found.map.max() == 1.0  # a real map, scaled by its peak
    overlaid = Image.open(io.BytesIO(overlay_png(photo, found.map)))
    assert overlaid.format == "PNG" and overlaid.size == (IMAGE_SIZE, IMAGE_SIZE)
    assert overlaid.convert("RGB").tobytes() != photo.tobytes()


def test_a_model_without_convolutions_is_refused():
    import keras

    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(GradCamError, match="no convolutional layer"):
        feature_layer(keras.Model(inputs, outputs))
