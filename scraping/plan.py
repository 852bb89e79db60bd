"""The collection plan: which classes, which queries, which sources (a TOML file)."""

import re
import tomllib
from pathlib import Path

from scraping.errors import PlanError
from scraping.runner import Job
from scraping.sources import SOURCES

DEFAULT_LIMIT = 500
LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def load_plan(path: Path, limit_per_class: int | None = None) -> list[Job]:
    """Jobs in the plan's order: per class, one job per source, each with all the class's queries."""
    try:
        plan = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{path} is not valid TOML: {exc}") from None
    classes = plan.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise PlanError(f"{path} has no [classes.<name>] tables")
    limit = limit_per_class or plan.get("limit_per_class", DEFAULT_LIMIT)
    jobs = []
    for label, entry in classes.items():
        if not LABEL.match(label):
            raise PlanError(
                f"{path}: class name {label!r} must be lower-case letters, digits, '_' or '-'"
            )
        queries = entry.get("queries")
        if not queries or not all(isinstance(q, str) and q.strip() for q in queries):
            raise PlanError(f"{path}: class {label!r} needs a non-empty list of queries")
        sources = entry.get("sources", plan.get("sources", ["flickr"]))
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise PlanError(
                f"{path}: class {label!r} names unknown sources {sorted(unknown)}; use {list(SOURCES)}"
            )
        jobs += [
            Job(label, source, tuple(queries), int(entry.get("limit", limit))) for source in sources
        ]
    return jobs
