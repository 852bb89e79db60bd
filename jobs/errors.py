"""Typed errors of the job queue."""

from petclf.errors import PetclfError


class JobError(PetclfError):
    """Base class of everything jobs raise on purpose; the message ends up in the job's row."""
