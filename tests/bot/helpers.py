"""Small helpers of the bot tests."""

from tests.imagegen import encode, shape_image


def jpeg(label: str, seed: int = 0, size=(320, 240)) -> bytes:
    return encode(shape_image(label, seed, size), "JPEG", quality=90)
