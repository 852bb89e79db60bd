"""The one image path (decode, orient, convert, fit-and-pad) and the dataset stages built on it."""

from preprocessing.errors import (
    CorruptImage,
    DatasetError,
    ImageError,
    ImageTooLarge,
    PreprocessingError,
    UnsupportedImage,
)
from preprocessing.image import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SIZE,
    SUPPORTED_FORMATS,
    decode,
    fit_and_pad,
    load_padded,
    to_array,
)

__all__ = [
    "CorruptImage",
    "DEFAULT_MAX_PIXELS",
    "DatasetError",
    "IMAGE_SIZE",
    "ImageError",
    "ImageTooLarge",
    "PreprocessingError",
    "SUPPORTED_FORMATS",
    "UnsupportedImage",
    "decode",
    "fit_and_pad",
    "load_padded",
    "to_array",
]
