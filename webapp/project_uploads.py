"""What the project APIs read from a request: a JSON object and its typed fields, and lists of
photos (multipart files, or base64 in JSON), each photo answered on its own.

A photo whose base64 is broken can't even be decoded to bytes; it becomes an `Unreadable` item
that answers with its own error while the others in the list go on.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Request
from sqlalchemy.orm import Session

from preprocessing import ImageError
from projects.errors import Invalid
from projects.photos import Incoming, Outcome, add_photos
from store import Project
from webapp.errors import UploadError, from_image_error
from webapp.uploads import FIELD, decode_base64

JSON_ONLY = "send a JSON object with Content-Type: application/json"


@dataclass
class Unreadable:
    name: str
    error: UploadError


Item = Incoming | Unreadable


class PhotosRejected(UploadError):
    """Every photo of an upload was refused: the first reason, with each photo's outcome beside it."""

    def __init__(self, status: int, code: str, message: str, results: list[dict]):
        super().__init__(status, code, message)
        self.results = results


def json_object(request: Request, *, required: bool = True, how: str = JSON_ONLY) -> dict:
    """The body's JSON object; {} for an empty body when it is optional. `how` tells the client what to send."""
    if not required and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise UploadError(
            415,
            "unsupported_media_type",
            f"Unsupported request type {request.mimetype or '(none)'}: {how}.",
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UploadError(400, "invalid_json", f"The body is not a JSON object: {how}.")
    return body


def flag(body: dict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise Invalid(f'"{key}" must be true or false, not {shown(value)}.')
    return value


def shown(value) -> str:
    """A client's value in a message: as JSON, cut short."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def form_photos(request: Request) -> list[Item]:
    """Every file of multipart field "file"."""
    uploads = request.files.getlist(FIELD)
    if not uploads:
        raise UploadError(
            400,
            "no_file",
            f'No photo was sent: add one or more files in multipart field "{FIELD}".',
        )
    return [Incoming(upload.filename or "photo", upload.read()) for upload in uploads]


def base64_photos(entries: list[tuple[str, object]]) -> list[Item]:
    """(name, base64 text) pairs → items; broken base64 makes that one item Unreadable."""
    items: list[Item] = []
    for name, text in entries:
        try:
            items.append(Incoming(name, decode_base64(text, "The image")))
        except UploadError as exc:
            items.append(Unreadable(name, exc))
    return items


def in_order(items: list[Item], answer: Callable[[list[Incoming]], list]) -> list:
    """`answer` on the readable items (one result each); an Unreadable item's result is its error."""
    answers = iter(answer([item for item in items if isinstance(item, Incoming)]))
    return [next(answers) if isinstance(item, Incoming) else item.error for item in items]


def store_photos(
    db: Session, project: Project, label, items: list[Item], *, side: str | None, source: str
) -> list[Outcome]:
    """add_photos on the items, one Outcome each, in order. Raises PhotosRejected when none was kept:
    raised inside the store session, it rolls back the class or project the upload would have made."""
    results = in_order(
        items, lambda readable: add_photos(db, project, label, readable, side=side, source=source)
    )
    outcomes = [
        result
        if isinstance(result, Outcome)
        else Outcome(item.name, "rejected", reason=result.message)
        for result, item in zip(results, items)
    ]
    if all(outcome.status == "rejected" for outcome in outcomes):
        errors = [refusal(item, outcome) for item, outcome in zip(items, outcomes)]
        statuses = {error.status for error in errors}
        # 415 when none was an image at all, or whatever one reason they share; else 422.
        status, code = (
            (errors[0].status, errors[0].code) if len(statuses) == 1 else (422, "rejected")
        )
        raise PhotosRejected(
            status, code, errors[0].message, [outcome.to_dict() for outcome in outcomes]
        )
    return outcomes


def refusal(item: Item, outcome: Outcome) -> UploadError:
    """Why a photo was refused, as an HTTP error."""
    if isinstance(item, Unreadable):
        return item.error
    if outcome.error is not None:
        return from_image_error(outcome.error)
    return UploadError(422, "rejected", outcome.reason)


def as_upload_error(result: ImageError | UploadError) -> UploadError:
    """A photo's failed answer (the image path's verdict, or unreadable base64) as an HTTP error."""
    return from_image_error(result) if isinstance(result, ImageError) else result
