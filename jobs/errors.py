"""Typed errors of the job queue."""


class JobError(Exception):
    """Base class of everything jobs raise on purpose; the message ends up in the job's row."""
