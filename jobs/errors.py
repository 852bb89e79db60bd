"""Typed errors of the job queue."""

from petclf.errors import PetclfError


class JobError(PetclfError):
    """Base class of everything jobs raise on purpose; the message ends up in the job's row."""


class QueueUnavailable(JobError):
    """The queue (Redis, or the SQLite file) can't take the job right now."""
