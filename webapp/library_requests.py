"""What the library's API and pages read from a request (filters, paging, uploaded photos), how the
library's own errors are answered, and an upload's way in: at once when it is small, through a
`library_ingest` job when it is large."""

from dataclasses import dataclass, field

from flask import Request, current_app

import library
from library import Filters, InvalidFilter, LibraryError, NotFound, Options
from library.ingest import STATUSES
from webapp.errors import UploadError
from webapp.uploads import FIELD, FORM_TYPES

TRUE, FALSE = ("1", "true", "on", "yes"), ("", "0", "false", "off", "no")
SEND_FILES = f'add one or more files in multipart field "{FIELD}"'


def as_upload_error(exc: LibraryError) -> UploadError:
    """The library's verdict as an HTTP answer: a bad filter 400, no such photo 404, the rest 422."""
    if isinstance(exc, InvalidFilter):
        return UploadError(400, "invalid_filter", str(exc))
    if isinstance(exc, NotFound):
        return UploadError(404, "not_found", str(exc))
    return UploadError(422, "library_error", str(exc))


def filters_and_page(args, per_page: int = 50) -> tuple[Filters, int, int]:
    """The query string's filters, page and per_page. Raises InvalidFilter."""
    page, chosen_per_page = library.paging(args, default_per_page=per_page)
    return Filters.parse(args), page, chosen_per_page


def uploaded_files(request: Request) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in multipart field "file"."""
    if request.mimetype and request.mimetype not in FORM_TYPES:
        raise UploadError(
            415,
            "unsupported_media_type",
            f"Unsupported request type {request.mimetype}: {SEND_FILES}.",
        )
    files = [
        (upload.filename or "upload", upload.read()) for upload in request.files.getlist(FIELD)
    ]
    if not files:
        raise UploadError(400, "no_file", f"No photo was sent: {SEND_FILES}.")
    return files


def shared_flag(request: Request) -> bool:
    value = request.form.get("shared", "").strip().lower()
    if value not in TRUE + FALSE:
        raise UploadError(
            400, "invalid_shared", f'"shared" must be true or false, not {value[:20]!r}.'
        )
    return value in TRUE


@dataclass(frozen=True)
class Received:
    """An upload's answer: the outcomes when it was ingested at once, or the queued job's id."""

    outcomes: list = field(default_factory=list)
    job_id: str | None = None


def receive(files: list[tuple[str, bytes]], *, shared: bool) -> Received:
    """Ingest a few files now, with the app's model; queue more than QUEUE_FROM_FILES for a worker."""
    if len(files) > library.QUEUE_FROM_FILES:
        try:
            return Received(job_id=library.queue_uploads(files, shared=shared))
        # the queue (or the staging folder) is out of reach: a server problem, said plainly
        except Exception:
            current_app.logger.exception("could not queue a library upload")
            raise UploadError(
                503,
                "queue_unavailable",
                "The job queue can't be reached right now; try again in a minute.",
            ) from None
    items = [library.Item(name=name, data=data) for name, data in files]
    return Received(outcomes=library.ingest(items, options=ingest_options(shared)))


def ingest_options(shared: bool) -> Options:
    """The library classifies with the model this app serves (the ImageNet model beside it, when there)."""
    engine = current_app.extensions["petclf_engine"]
    return Options(shared=shared, pets_model=str(engine.artifact.path))


def counts(outcomes) -> dict[str, int]:
    """{status: photos} over every status the ingest knows, zeros included."""
    tally = dict.fromkeys(STATUSES, 0)
    for outcome in outcomes:
        tally[outcome.status] += 1
    return tally
