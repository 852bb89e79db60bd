"""The shared ImageNet reference (../shared/models/imagenet, or $PETCLF_IMAGENET_SOURCE) and the
comparison of petclf's Keras EfficientNet-Lite0 with its ONNX file, for the tests and
benchmarks/imagenet_parity.py.

The reference photos are resized straight to 224×224 (bilinear, aspect not kept) and scaled as
(x − 127) / 128, as `reference_outputs.json` was made.
"""

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(
    os.environ.get("PETCLF_IMAGENET_SOURCE", REPO.parent / "shared" / "models" / "imagenet")
)
DATASETS = SOURCE.parent.parent / "datasets"
ONNX = SOURCE / "efficientnet_lite0_imagenet.onnx"
NPZ = SOURCE / "efficientnet_lite0_imagenet.npz"
REFERENCE = SOURCE / "reference_outputs.json"
SIZE = 224


def missing(*paths: Path) -> str | None:
    """Why the comparison can't run here (for pytest.skip), or None."""
    for path in paths:
        if not path.exists():
            return f"needs {path}, which is not here"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "needs onnxruntime (requirements-dev.txt)"
    return None


def scaled(image: Image.Image) -> np.ndarray:
    """A photo as the reference fed it: RGB, squashed to 224×224, (x − 127) / 128."""
    resized = image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    return (np.asarray(resized, np.float32) - 127.0) / 128.0


def reference_photos() -> list[tuple[str, list[str], np.ndarray]]:
    """(file name, reference top-5 labels, scaled array) of each reference photo, found under the shared datasets."""
    found = {path.name: path for path in DATASETS.rglob("*") if path.is_file()}
    photos = []
    for entry in json.loads(REFERENCE.read_text()):
        with Image.open(found[entry["file"]]) as image:
            photos.append((entry["file"], [label for label, _ in entry["top5"]], scaled(image)))
    return photos


def random_inputs(count: int, seed: int = 0) -> np.ndarray:
    """Scaled inputs spanning the whole range a photo can reach, (x − 127) / 128 for x in 0–255."""
    return (
        np.random.default_rng(seed)
        .uniform(-127 / 128, 1.0, (count, SIZE, SIZE, 3))
        .astype(np.float32)
    )


def onnx_logits(batch: np.ndarray) -> np.ndarray:
    """The reference network's logits for scaled NHWC inputs (it takes NCHW)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"image": np.ascontiguousarray(batch.transpose(0, 3, 1, 2))})[0]


def top5(logits: np.ndarray) -> np.ndarray:
    return np.argsort(-logits, axis=1, kind="stable")[:, :5]
