"""Typed errors of the store."""

from petclf.errors import PetclfError


class StoreError(PetclfError):
    """Base class of everything the store raises on purpose."""


class ConfigError(StoreError):
    """PETCLF_HOME or PETCLF_DATABASE_URL can't be used."""
