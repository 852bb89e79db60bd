"""petclf: build and run your own pet-photo classifier."""

from importlib.metadata import version

__version__ = version("petclf")  # the one version source is pyproject.toml
