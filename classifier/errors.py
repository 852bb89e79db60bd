"""Typed errors of the classifier package; every message is meant for a user."""

from petclf.errors import PetclfError


class ClassifierError(PetclfError):
    """Base class of everything the classifier raises on purpose."""


class ModelError(ClassifierError):
    """A model artifact (the .h5, its card or its derived runtime) is missing or unusable."""
