"""Small helpers of the bot tests."""

import socket

from tests.imagegen import encode, shape_image


def jpeg(label: str, seed: int = 0, size=(320, 240)) -> bytes:
    return encode(shape_image(label, seed, size), "JPEG", quality=90)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
