"""Project and class names: they become folder names, so they are checked before anything is stored."""

import re

from projects.errors import Invalid

MAX_NAME = 64
COMMON = "common"  # the shared pool of "none of these" photos
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def class_name(value) -> str:
    return _checked(value, "class name")


def project_name(value) -> str:
    return _checked(value, "project name")


def _checked(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"The {what} is empty; give it a name.")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise Invalid(
            f"The {what} {name[:20]!r}… is {len(name)} characters long; the limit is {MAX_NAME}."
        )
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or _CONTROL.search(name):
        raise Invalid(
            f"The {what} {name!r} can't contain '/', '\\', '..', control characters or start with '.'."
        )
    return name
