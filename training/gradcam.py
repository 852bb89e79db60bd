"""Grad-CAM: where in the photo a petclf model found the evidence for a class.

The class score's gradient, averaged over each channel of the last convolutional feature map,
weighs that map's channels; their weighted sum, without its negative part, is the map. For the
transfer recipes the last convolutional map is the nested backbone's output (its top
convolution, or for the combined recipe both backbones' maps side by side); for the recipes
trained from scratch it is their last convolution.

    cam = GradCam(load_h5(path))
    found = cam.compute(to_array(padded))       # the top class; or compute(image, class_index=2)
    found.map, found.class_index
"""

from dataclasses import dataclass

import numpy as np

from training.errors import TrainingError


class GradCamError(TrainingError):
    """The model has no convolutional feature map to explain its answer with."""


@dataclass(frozen=True)
class ClassMap:
    # (rows, columns) float32 in [0, 1] on the feature map's grid; all 0: no evidence
    map: np.ndarray
    class_index: int  # the output column it explains
    outputs: np.ndarray  # the model's raw outputs for the image, (classes,)


class GradCam:
    """One model's Grad-CAM, traced once and reused for every image."""

    def __init__(self, model):
        import keras

        self.layer = feature_layer(model)
        found = []

        def keep_feature_map(layer, *args, **kwargs):
            outputs = layer(*args, **kwargs)
            if layer is self.layer:
                found.append(outputs)
            return outputs

        # The same layers called again in a new graph: there the nested backbone's output is a
        # tensor of the outer model, which can be an output beside the logits.
        rebuilt = keras.models.clone_model(
            model, clone_function=lambda layer: layer, call_function=keep_feature_map
        )
        self._both = keras.Model(rebuilt.inputs, [found[0], rebuilt.outputs[0]])
        self.classes = int(rebuilt.outputs[0].shape[-1])
        self._run = self._traced()

    def compute(self, image: np.ndarray, class_index: int | None = None) -> ClassMap:
        """The map for one model input (size, size, 3) float32 0–255; the top class by default."""
        import tensorflow as tf

        if class_index is not None and not 0 <= class_index < self.classes:
            raise GradCamError(
                f"the model has {self.classes} classes; there is no class {class_index}"
            )
        batch = tf.constant(np.asarray(image, dtype=np.float32)[None])
        index = tf.constant(-1 if class_index is None else int(class_index), dtype=tf.int32)
        cam, outputs, chosen = self._run(batch, index)
        return ClassMap(normalised(cam.numpy()), int(chosen), outputs.numpy())

    def _traced(self):
        import tensorflow as tf

        both = self._both

        @tf.function(reduce_retracing=True)
        def run(batch, index):
            with tf.GradientTape() as tape:
                feature_map, outputs = both(batch, training=False)
                chosen = tf.where(index < 0, tf.argmax(outputs[0], output_type=tf.int32), index)
                score = outputs[0, chosen]
            gradients = tape.gradient(score, feature_map)
            channel_weights = tf.reduce_mean(gradients, axis=(1, 2))
            cam = tf.nn.relu(tf.einsum("bhwc,bc->bhw", feature_map, channel_weights))
            return cam[0], outputs[0], chosen

        return run


def feature_layer(model):
    """The last layer of `model` with a spatial output that is, or contains, a convolution."""
    found = [
        layer for layer in model.layers if _has_convolution(layer) and len(layer.output.shape) == 4
    ]
    if not found:
        raise GradCamError(
            f"the model {model.name} has no convolutional layer to make a heat map of"
        )
    return found[-1]


def normalised(cam: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] by its peak; a map with no positive evidence stays all 0."""
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32))
    peak = float(cam.max(initial=0.0))
    return cam / peak if peak > 0 else np.zeros_like(cam)


def _has_convolution(layer) -> bool:
    from keras import layers

    if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D)):
        return True
    return any(_has_convolution(inner) for inner in getattr(layer, "layers", ()))
