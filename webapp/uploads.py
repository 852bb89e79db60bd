"""Getting the photo's bytes out of a request, in memory, whatever shape the request has."""

import base64
import binascii
import io
import re

from flask import Request

from webapp.errors import UploadError

FIELD = "file"
DATA_URL_PREFIX = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
HOW_TO_SEND = (
    'send the photo as multipart field "file", or as JSON {"image": "<base64 of the file>"}'
)


class InMemoryRequest(Request):
    """Uploaded files stay in memory (Werkzeug spools big ones to disk by default).

    MAX_CONTENT_LENGTH bounds the size before any of it is read.
    """

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ):
        return io.BytesIO()


def form_upload(request: Request) -> bytes:
    """The photo of a multipart form (the page, or API clients). The file name is never used."""
    upload = request.files.get(FIELD)
    if upload is None:
        raise UploadError(400, "no_file", "No photo was sent: choose a photo to upload.")
    data = upload.read()
    if not data:
        raise UploadError(400, "empty_file", "The file is empty: choose a photo to upload.")
    return data


def api_upload(request: Request) -> bytes:
    """The photo of an API request: multipart `file`, or JSON `{"image": "<base64>"}`."""
    if request.mimetype in FORM_TYPES:
        try:
            return form_upload(request)
        except UploadError as exc:
            if exc.code == "no_file":
                raise UploadError(400, "no_file", f"No photo was sent: {HOW_TO_SEND}.") from None
            raise
    if request.is_json:
        return _json_upload(request)
    if not request.mimetype and not request.content_length:
        raise UploadError(400, "no_file", f"No photo was sent: {HOW_TO_SEND}.")
    raise UploadError(
        415,
        "unsupported_media_type",
        f"Unsupported request type {request.mimetype or '(none)'}: {HOW_TO_SEND}.",
    )


def _json_upload(request: Request) -> bytes:
    body = request.get_json(silent=True)
    if body is None:
        raise UploadError(400, "invalid_json", f"The body is not valid JSON: {HOW_TO_SEND}.")
    if not isinstance(body, dict) or "image" not in body:
        raise UploadError(400, "missing_image", f'The JSON has no "image" field: {HOW_TO_SEND}.')
    return decode_base64(body["image"])


def decode_base64(text, field: str = 'The "image" field') -> bytes:
    """The photo's bytes from base64 text (a data: URL prefix and line breaks are fine)."""
    if not isinstance(text, str):
        raise UploadError(
            400, "invalid_image_field", f"{field} must be a string holding the base64 of the photo."
        )
    text = DATA_URL_PREFIX.sub("", text.strip())
    try:
        data = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise UploadError(400, "invalid_base64", f"{field} is not valid base64.") from None
    if not data:
        raise UploadError(
            400, "empty_file", f"{field} is empty: it must hold the base64 of the photo."
        )
    return data
