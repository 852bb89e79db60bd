"""The TCP wire format, shared by the server and its clients (pure: no sockets here).

A request is the JSON object `{"image": "<base64 of the image file>", "chat_id": <any>}`
followed by the bytes `##END##`. A reply is a JSON object followed by the same delimiter:
`{"predictions": [{"label", "proba"} ...], "label": ..., "unknown": ..., "chat_id": <same>}`
(plus "id" and "classes" when the prediction was kept for corrections) or
`{"error": "...", "chat_id": <same or null>}`. A correction of a kept prediction is the request
`{"correction": {"id", "choice"}, "client", "chat_id"}`, answered `{"correction": {"status",
"label"}, "chat_id"}`. Base64 has no `#`, and what we encode writes `#` inside strings as `\u0023`, so the delimiter never appears inside a message.
"""

import base64
import binascii
import json

from bot.errors import FrameTooLarge, ProtocolError

DELIMITER = b"##END##"
_JSON_OVERHEAD = 64 * 1024  # room for chat_id and keys beside the base64 image


def max_frame_bytes(max_image_bytes: int) -> int:
    """The frame cap that lets through an image of `max_image_bytes` once base64-encoded."""
    return (max_image_bytes + 2) // 3 * 4 + _JSON_OVERHEAD


def _frame(message: dict) -> bytes:
    # "#" only ever occurs inside JSON strings, where \u0023 means the same to any decoder.
    return json.dumps(message).replace("#", "\\u0023").encode("utf-8") + DELIMITER


def encode_request(image: bytes, chat_id=None) -> bytes:
    return _frame({"image": base64.b64encode(image).decode("ascii"), "chat_id": chat_id})


def encode_correction(prediction_id: str, choice: str, client: str, chat_id=None) -> bytes:
    """A correction of a served prediction: `choice` is a class's index in the reply's "classes",
    or "none"; `client` says who sent it (the server limits corrections per client)."""
    return _frame(
        {
            "correction": {"id": prediction_id, "choice": choice},
            "client": client,
            "chat_id": chat_id,
        }
    )


def decode_message(frame: bytes) -> dict:
    """One frame without its delimiter as a JSON object; ProtocolError if it is none."""
    try:
        request = json.loads(frame)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"The request is not valid JSON ({exc}).") from None
    if not isinstance(request, dict):
        raise ProtocolError('The request must be a JSON object with "image" and "chat_id".')
    return request


def decode_request(frame: bytes) -> tuple[bytes, object]:
    """(image bytes, chat_id) from one frame without its delimiter; ProtocolError if malformed."""
    return image_request(decode_message(frame))


def correction_request(request: dict) -> tuple[str, str, str, object]:
    """(prediction id, choice, client, chat_id) of a correction request; ProtocolError if malformed."""
    chat_id = request.get("chat_id")
    correction, client = request.get("correction"), request.get("client")
    if not isinstance(correction, dict) or not isinstance(client, str) or not client:
        raise ProtocolError(
            'A correction needs {"correction": {"id", "choice"}, "client"}.', chat_id
        )
    prediction_id, choice = correction.get("id"), correction.get("choice")
    if not isinstance(prediction_id, str) or not isinstance(choice, str):
        raise ProtocolError('The correction\'s "id" and "choice" must be strings.', chat_id)
    return prediction_id, choice, client, chat_id


def correction_reply(status: str, label: str | None, chat_id) -> dict:
    """status: recorded, again (counted once), expired, refused or flood; label: what was recorded."""
    return {"correction": {"status": status, "label": label}, "chat_id": chat_id}


def image_request(request: dict) -> tuple[bytes, object]:
    """(image bytes, chat_id) of a decoded image request; ProtocolError if malformed."""
    chat_id = request.get("chat_id")
    image = request.get("image")
    if image is None:
        raise ProtocolError('The request has no "image" field.', chat_id)
    if not isinstance(image, str):
        raise ProtocolError('The "image" field must be a base64 string.', chat_id)
    # Old clients may wrap base64 at 76 columns or send a data: URL; both are harmless.
    if image.startswith("data:") and "," in image:
        image = image.split(",", 1)[1]
    try:
        data = base64.b64decode("".join(image.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError('The "image" field is not valid base64.', chat_id) from None
    if not data:
        raise ProtocolError('The "image" field is empty.', chat_id)
    return data, chat_id


def encode_reply(reply: dict) -> bytes:
    return _frame(reply)


def prediction_reply(prediction: dict, chat_id, classes: list[str] | None = None) -> dict:
    """The reply for a classified image: the prediction JSON plus the caller's chat_id, and when
    the prediction was kept, its "id" and the model's "classes" (what a correction may say)."""
    reply = {
        "predictions": prediction["predictions"],
        "label": prediction.get("label"),
        "unknown": prediction.get("unknown"),
        "chat_id": chat_id,
    }
    if prediction.get("id"):
        reply.update(id=prediction["id"], classes=list(classes or []))
    if "tags" in prediction:
        reply["tags"] = prediction["tags"]
    return reply


def error_reply(message: str, chat_id=None) -> dict:
    return {"error": message, "chat_id": chat_id}


def decode_reply(frame: bytes) -> dict:
    try:
        reply = json.loads(frame)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"The server's reply is not valid JSON ({exc}).") from None
    if not isinstance(reply, dict) or not reply.keys() & {"predictions", "correction", "error"}:
        raise ProtocolError('The server\'s reply has neither "predictions" nor "error".')
    return reply


class FrameBuffer:
    """Collects received bytes and splits them into delimiter-terminated frames."""

    def __init__(self, max_frame_bytes: int):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes already searched for the delimiter: keeps big uploads linear

    def __len__(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def pop_frame(self) -> bytes | None:
        """The next complete frame (without delimiter), None if incomplete; FrameTooLarge past the cap."""
        end = self._buffer.find(DELIMITER, self._scanned)
        if end == -1:
            self._scanned = max(0, len(self._buffer) - len(DELIMITER) + 1)
            if len(self._buffer) > self.max_frame_bytes:
                raise FrameTooLarge(
                    f"The request is larger than {self.max_frame_bytes / 2**20:.1f} MB "
                    "or its end delimiter is missing."
                )
            return None
        if end > self.max_frame_bytes:
            raise FrameTooLarge(
                f"The request is larger than {self.max_frame_bytes / 2**20:.1f} MB."
            )
        frame = bytes(self._buffer[:end])
        del self._buffer[: end + len(DELIMITER)]
        self._scanned = 0
        return frame
