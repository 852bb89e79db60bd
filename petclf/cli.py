"""The `petclf` console script: one subcommand per pipeline stage.

Each stage's package contributes its subcommands through a `commands` module that
exposes `register(subparsers)`. A subcommand sets `func` on its parser; `func(args)`
returns the exit code (None means 0).
"""

import argparse
import importlib
import os
import sys

from petclf import __version__
from petclf.errors import PetclfError

# In pipeline order, so `petclf --help` reads like the data flow.
STAGE_PACKAGES = (
    "scraping",
    "preprocessing",
    "training",
    "classifier",
    "webapp",
    "bot",
    "projects",
    "library",
    "jobs",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petclf",
        description="Collect, clean, split, train and serve a pet-photo classifier.",
    )
    parser.add_argument("--version", action="version", version=f"petclf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for package in STAGE_PACKAGES:
        importlib.import_module(f"{package}.commands").register(subparsers)
    return parser


def describe_error(exc: BaseException) -> str:
    """One line a user can act on, without a traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, PetclfError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (set PETCLF_DEBUG=1 for the traceback)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"petclf {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI contract: one clear line, no traceback
        if os.environ.get("PETCLF_DEBUG"):
            raise
        print(f"petclf {args.command}: error: {describe_error(exc)}", file=sys.stderr)
        return 1
