"""Generated test images: coloured shapes per class, encoded in any format.

Tests never use the shared photo sets; they draw what they need here.
"""

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw

# One colour and shape per class so a tiny model can learn them in seconds.
SHAPES = {
    "cat": ((220, 40, 40), "ellipse"),
    "dog": ((40, 160, 40), "rectangle"),
    "bird": ((40, 40, 220), "triangle"),
}


def shape_image(label: str, seed: int = 0, size: tuple[int, int] = (240, 240)) -> Image.Image:
    """A shape of the class's colour at a random place and scale on a noisy light background."""
    return drawn_shape(label, seed, size)[0]


def drawn_shape(
    label: str, seed: int = 0, size: tuple[int, int] = (240, 240)
) -> tuple[Image.Image, Image.Image]:
    """shape_image and its mask: an "L" image, 255 where the shape is, 0 elsewhere."""
    rng = random.Random(f"{label}-{seed}")
    colour, shape = SHAPES[label]
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randint(200, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):  # background speckles so no two images are identical
        x, y = rng.randrange(width), rng.randrange(height)
        draw.point((x, y), fill=tuple(rng.randint(150, 255) for _ in range(3)))
    side = rng.uniform(0.4, 0.7) * min(size)
    left, top = rng.uniform(0, width - side), rng.uniform(0, height - side)
    jitter = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in colour)
    mask = Image.new("L", size, 0)
    for canvas, fill in ((draw, jitter), (ImageDraw.Draw(mask), 255)):
        _draw(canvas, shape, left, top, side, fill)
    return image, mask


def _draw(
    draw: ImageDraw.ImageDraw, shape: str, left: float, top: float, side: float, fill
) -> None:
    box = (left, top, left + side, top + side)
    if shape == "ellipse":
        draw.ellipse(box, fill=fill)
    elif shape == "rectangle":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon(
            [(left + side / 2, top), (left, top + side), (left + side, top + side)], fill=fill
        )


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def write_class_folders(
    root: Path, per_class: int, labels=tuple(SHAPES), fmt: str = "PNG", size=(240, 240)
) -> Path:
    """root/<label>/<label><n>.<ext> for each label, like a processed or split folder."""
    ext = {"JPEG": "jpg", "PNG": "png"}[fmt]
    for label in labels:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            (folder / f"{label}{n + 1}.{ext}").write_bytes(encode(shape_image(label, n, size), fmt))
    return root
