"""Small helpers of the bot tests."""

import re

from bot import replies
from bot.tcp_client import classify
from tests.imagegen import encode, shape_image


def jpeg(label: str, seed: int = 0, size=(320, 240)) -> bytes:
    return encode(shape_image(label, seed, size), "JPEG", quality=90)


LINE = re.compile(r"^[1-5]\. (bird|cat|dog) \((0|1)\.\d{4}\)$")


def assert_prediction_text(text: str, port: int, image: bytes) -> None:
    """Ranked lines in the original format, saying what the server says about this very image."""
    lines = text.splitlines()
    assert len([line for line in lines if LINE.match(line)]) == 3, text  # top 5 of a 3-class model
    assert lines[3:] in ([], [replies.UNKNOWN_LINE])
    assert text == replies.predictions_text(classify(("127.0.0.1", port), image))
