"""Counts for the plots: photos per month stacked by class, and photos per class."""

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library.queries import Filters, prepare, where
from store import LibraryPhoto


def stats(db: Session, filters: Filters | None = None) -> dict:
    """`{"total": n, "classes": [label…], "per_class": {label: n}, "per_month": [{"month": "YYYY-MM",
    "counts": {label: n}}…]}` for the photos matching `filters`. Classes run from the most photos to
    the fewest; months in time order, the empty ones between them left out."""
    filters = filters or Filters()
    per_month: dict[str, Counter] = {}
    for taken_at, label, count in _counts(db, filters):
        per_month.setdefault(f"{taken_at.year:04d}-{taken_at.month:02d}", Counter())[label] += count
    per_class = sum(per_month.values(), Counter())
    classes = sorted(per_class, key=lambda label: (-per_class[label], label))
    return {
        "total": sum(per_class.values()),
        "classes": classes,
        "per_class": {label: per_class[label] for label in classes},
        "per_month": [
            {"month": month, "counts": dict(per_month[month])} for month in sorted(per_month)
        ],
    }


def _counts(db: Session, filters: Filters) -> list[tuple]:
    """(a time in the day, label, photos) per day and label, counted by the database (portable SQL:
    months are summed up here)."""
    prepare(db, filters)
    query = where(
        select(func.min(LibraryPhoto.taken_at), LibraryPhoto.label, func.count()), filters
    )
    return db.execute(query.group_by(func.date(LibraryPhoto.taken_at), LibraryPhoto.label)).all()
