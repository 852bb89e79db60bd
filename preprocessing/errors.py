"""Typed errors of the preprocessing package; every message is meant for a user."""

from petclf.errors import PetclfError


class PreprocessingError(PetclfError):
    """Base class of everything preprocessing raises on purpose."""


class ImageError(PreprocessingError):
    """A single image could not be used."""


class UnsupportedImage(ImageError):
    """The content is not an image in one of the supported formats."""


class CorruptImage(ImageError):
    """The content claims to be an image but cannot be decoded."""


class ImageTooLarge(ImageError):
    """The image has more pixels than the configured limit (a pixel bomb guard)."""


class DatasetError(PreprocessingError):
    """A folder of images cannot be processed or split as asked."""
