"""The photo library: bring in folders and uploads of photos, then find them by when, where and what.

Every photo passes the one image path (upright), and gets its EXIF date (DateTimeOriginal, else
DateTime, else the file's time, marked as such), GPS position and camera, a ≤ 320 px thumbnail
(PETCLF_HOME/thumbnails/), the pet model's prediction (and the ImageNet model's, when
`imagenet.h5` sits beside the pet model), a place from offline reverse geocoding, and a
near-duplicate group. Tags (the `library_tags` table) stay empty until a tags model exists.

Ingest (each returns per-file `Outcome`s: `.status` is "added", "near_duplicate" (added, and
grouped: `.group_id`), "duplicate" (not added: same content), "damaged" or "skipped", with `.reason`;
`.to_dict()` for JSON):

    outcomes = library.ingest_paths([Path("photos")], progress=lambda outcome, done, total: ...)
    outcome = library.ingest_upload("cat.jpg", data, shared=False)      # shared: keep it in the gallery
    job_id = library.queue_uploads([(name, data), ...], shared=False)   # many files: a `library_ingest` job

Find (filters by the query string's names: class (repeatable), tag (repeatable), from, to
(YYYY-MM-DD, inclusive), near ("LAT,LON"), within_km, place (a city or country), without_gps
(include|exclude|only); bad values raise `InvalidFilter` with `.field` and a message for people):

    filters = library.Filters.parse(request.args)       # a MultiDict, or a dict of strings or lists
    page, per_page = library.paging(request.args)       # per_page 1 to 500, default 50
    with store.session() as db:
        rows, total = library.find(db, filters, page, per_page)   # LibraryPhoto rows, oldest first
        # a map's markers (label, id, latitude, longitude) of photos with a position, paged by
        # library.paging(request.args, MAX_POINTS_PER_PAGE, most=MAX_POINTS_PER_PAGE)
        points, total = library.find_points(db, filters, page, per_page)
        [library.summary(row) for row in rows]
        library.details(db, photo_id)                   # raises NotFound
        library.stats(db, filters)                      # {"total", "classes", "per_class", "per_month"}
        library.per_month_svg(counts), library.per_class_svg(counts)   # the plots, as SVG text
        library.write_report(db, filters, handle)       # the self-contained HTML report into a text handle
        library.export(db, filters, dest, force=False)  # upright copies named by date + metadata.csv

Pictures: `library.thumbnail_bytes(db, id)` (≤ 320 px JPEG, no EXIF), `library.view_bytes(db, id)`
(upright JPEG ≤ 2048 px, no metadata) and, for the gallery, `library.shared_image(db, id)` (the
same, only for a shared photo: GPS never leaves). `library.set_shared(db, id, bool)` and
`library.delete(db, id)` (the admin's).
"""

from library.errors import InvalidFilter, LibraryError, NotFound
from library.export import export
from library.files import Item, thumbnail_path
from library.ingest import Options, Outcome, ingest, ingest_paths, ingest_upload
from library.photos import (
    delete,
    details,
    set_shared,
    shared_image,
    summary,
    thumbnail_bytes,
    view_bytes,
)
from library.plots import per_class_svg, per_month_svg
from library.queries import (
    FILTER_NAMES,
    MAX_POINTS_PER_PAGE,
    Filters,
    find,
    find_points,
    matching_ids,
    paging,
)
from library.report import write_report
from library.stats import stats
from library.uploads import JOB_KIND, QUEUE_FROM_FILES, queue_uploads

__all__ = [
    "FILTER_NAMES",
    "MAX_POINTS_PER_PAGE",
    "Filters",
    "InvalidFilter",
    "Item",
    "JOB_KIND",
    "LibraryError",
    "NotFound",
    "Options",
    "Outcome",
    "QUEUE_FROM_FILES",
    "delete",
    "details",
    "export",
    "find",
    "find_points",
    "ingest",
    "ingest_paths",
    "ingest_upload",
    "matching_ids",
    "paging",
    "per_class_svg",
    "per_month_svg",
    "queue_uploads",
    "set_shared",
    "shared_image",
    "stats",
    "summary",
    "thumbnail_bytes",
    "thumbnail_path",
    "view_bytes",
    "write_report",
]
