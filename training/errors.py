"""Typed errors of the training package; every message is meant for a user."""

from petclf.errors import PetclfError


class TrainingError(PetclfError):
    """Base class of everything the training stage raises on purpose."""


class DataError(TrainingError):
    """The data folders can't be used for training or evaluation as given."""


class BackboneError(TrainingError):
    """The pretrained backbone weights can't be downloaded or loaded."""


class ModelFileError(TrainingError):
    """A model file can't be read, or can't be written safely."""
