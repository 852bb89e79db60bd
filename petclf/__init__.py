"""petclf: build and run your own pet-photo classifier."""

__version__ = "0.1.0"
