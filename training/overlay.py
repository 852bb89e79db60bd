"""A heat map drawn over the photo the model saw: a colour map whose strength follows the map,
so the places with no evidence keep the photo's own colours."""

import io

import numpy as np
from PIL import Image

COLOUR_MAP = "jet"
STRONGEST = 0.6  # the colour's share of a pixel where the map peaks


def upsampled(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The feature-map grid stretched over the whole (width, height) picture, smoothly."""
    grid = Image.fromarray(np.asarray(cam, dtype=np.float32), mode="F")
    return np.asarray(grid.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def peak(cam: np.ndarray, size: tuple[int, int]) -> tuple[int, int]:
    """The (x, y) pixel of the picture where the upsampled map is highest."""
    stretched = upsampled(cam, size)
    row, column = np.unravel_index(int(np.argmax(stretched)), stretched.shape)
    return int(column), int(row)


def overlay(image: Image.Image, cam: np.ndarray) -> Image.Image:
    """`image` (RGB) with the map in [0, 1] coloured over it."""
    from matplotlib import colormaps

    weight = np.clip(upsampled(cam, image.size), 0.0, 1.0)[..., None]
    colours = colormaps[COLOUR_MAP](weight[..., 0])[..., :3] * 255.0
    photo = np.asarray(image.convert("RGB"), dtype=np.float32)
    blended = photo * (1 - STRONGEST * weight) + colours * (STRONGEST * weight)
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8), "RGB")


def overlay_png(image: Image.Image, cam: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    overlay(image, cam).save(buffer, format="PNG")
    return buffer.getvalue()
