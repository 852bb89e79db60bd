"""Typed errors of the photo library; every message is meant for a person."""

from petclf.errors import PetclfError


class LibraryError(PetclfError):
    """Base class of everything the library raises on purpose."""


class InvalidFilter(LibraryError):
    """A filter or paging value can't be used; `field` names it (as the query string spells it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class NotFound(LibraryError):
    """No such photo (or, for the gallery, no such shared photo)."""
