"""A client of the TCP classification server: one connection per request, like the original."""

import socket

from bot.errors import ClassifierUnavailable, ProtocolError
from bot.wire import FrameBuffer, decode_reply, encode_correction, encode_request

MAX_REPLY_BYTES = 1024 * 1024
RECV_CHUNK = 64 * 1024


def classify(addr: tuple[str, int], image: bytes, chat_id=None, *, timeout: float = 30.0) -> dict:
    """Send one image, return the server's reply dict (predictions or error).

    Raises ClassifierUnavailable when the server can't be reached or doesn't answer properly.
    """
    return _exchange(addr, encode_request(image, chat_id), timeout)


def correct(
    addr: tuple[str, int],
    prediction_id: str,
    choice: str,
    client: str,
    chat_id=None,
    *,
    timeout: float = 30.0,
) -> dict:
    """Send a correction of a kept prediction; the reply's "correction" says what became of it."""
    return _exchange(addr, encode_correction(prediction_id, choice, client, chat_id), timeout)


def _exchange(addr: tuple[str, int], request: bytes, timeout: float) -> dict:
    try:
        with socket.create_connection(addr, timeout=timeout) as sock:
            sock.sendall(request)
            frames = FrameBuffer(MAX_REPLY_BYTES)
            while (frame := frames.pop_frame()) is None:
                chunk = sock.recv(RECV_CHUNK)
                if not chunk:
                    raise ClassifierUnavailable(
                        "The classification server closed the connection without replying."
                    )
                frames.feed(chunk)
        return decode_reply(frame)
    except (OSError, ProtocolError) as exc:
        raise ClassifierUnavailable(
            f"The classification server at {addr[0]}:{addr[1]} failed: {exc}"
        ) from None
