"""The one base class of every error a petclf package raises on purpose."""


class PetclfError(Exception):
    """Its message is meant for a user: the CLI prints it as one line, without a traceback."""
