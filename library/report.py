"""`petclf library report`: one self-contained HTML file (thumbnails embedded as data URIs, style
inline, no script, nothing fetched) with the plots and a table of the photos matching the filters."""

import base64
import html
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from library.files import thumbnail_path
from library.photos import place
from library.plots import per_class_svg, per_month_svg
from library.queries import Filters, matching_ids
from library.stats import stats
from store import LibraryPhoto

CHUNK = 200  # rows read at a time: a report of a large library never holds it all
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.filters { color: #555; margin-bottom: 1.5em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plots svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin-top: 1.5em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 160px; max-height: 160px; display: block; }
.muted { color: #888; font-size: 0.9em; }
"""


def write_report(db: Session, filters: Filters, out: TextIO) -> int:
    """Write the report of the photos matching `filters` into `out`; returns how many it lists."""
    ids = matching_ids(db, filters)
    counts = stats(db, filters)
    described = ", ".join(f"{key}={value}" for key, value in filters.to_query()) or "all photos"
    out.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Photo library report</title><style>{STYLE}</style></head><body>
<h1>Photo library report</h1>
<p class="filters">{len(ids)} photos · {html.escape(described)} · made {datetime.now():%Y-%m-%d %H:%M}</p>
""")
    if ids:
        out.write(f'<div class="plots">{per_month_svg(counts)}{per_class_svg(counts)}</div>\n')
    out.write(
        "<table><thead><tr><th>photo</th><th>date</th><th>place</th><th>class</th>"
        "<th>confidence</th><th>tags</th><th>file</th></tr></thead><tbody>\n"
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = {
            row.id: row
            for row in db.scalars(
                select(LibraryPhoto)
                .where(LibraryPhoto.id.in_(chunk))
                .options(selectinload(LibraryPhoto.tags))
            )
        }
        for photo_id in chunk:
            out.write(_row(rows[photo_id]))
    out.write("</tbody></table></body></html>\n")
    return len(ids)


def _row(photo: LibraryPhoto) -> str:
    escape = html.escape
    date_note = (
        ""
        if photo.date_source == "DateTimeOriginal"
        else f'<br><span class="muted">from {escape(photo.date_source)}</span>'
    )
    where = escape(place(photo) or "")
    if photo.latitude is not None:
        where += f'<br><span class="muted">{photo.latitude:.5f}, {photo.longitude:.5f}</span>'
    tags = ", ".join(escape(tag.tag) for tag in photo.tags)
    return (
        f"<tr><td>{_thumbnail(photo)}</td><td>{photo.taken_at:%Y-%m-%d %H:%M:%S}{date_note}</td><td>{where}</td>"
        f'<td>{escape(photo.label)}</td><td class="n">{photo.confidence:.1%}</td><td>{tags}</td>'
        f"<td>{escape(photo.original_name)}</td></tr>\n"
    )


def _thumbnail(photo: LibraryPhoto) -> str:
    try:
        data = thumbnail_path(photo.sha256).read_bytes()
    except OSError:
        return '<span class="muted">no thumbnail</span>'
    return f'<img alt="photo {photo.id}" src="data:image/jpeg;base64,{base64.b64encode(data).decode()}">'
