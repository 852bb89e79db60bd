"""Typed errors of the web app. An UploadError carries what the page and the API tell the user."""

from petclf.errors import PetclfError
from preprocessing import CorruptImage, ImageError, ImageTooLarge, UnsupportedImage


class WebappError(PetclfError):
    """Base class of everything the web app raises on purpose."""


class ConfigError(WebappError):
    """A setting (flag or environment variable) has a value the app can't use."""


class UploadError(WebappError):
    """A request the app can't classify: an HTTP status, a stable code and a message for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def from_image_error(exc: ImageError) -> UploadError:
    """The image path's verdict as an HTTP answer."""
    if isinstance(exc, UnsupportedImage):
        return UploadError(415, "unsupported_image", str(exc))
    if isinstance(exc, ImageTooLarge):
        return UploadError(422, "too_many_pixels", str(exc))
    if isinstance(exc, CorruptImage):
        return UploadError(422, "corrupt_image", str(exc))
    return UploadError(422, "unusable_image", str(exc))
