import base64
import json

import pytest

from bot.errors import FrameTooLarge, ProtocolError
from bot.wire import (
    DELIMITER,
    FrameBuffer,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    error_reply,
    max_frame_bytes,
    prediction_reply,
)


def test_request_round_trip_keeps_image_and_any_chat_id():
    for chat_id in (1821266651, -100123, "alice", None, {"thread": 3}):
        frame = encode_request(b"\xff\xd8image bytes", chat_id)
        assert frame.endswith(DELIMITER) and frame.count(b"#") == 4
        assert decode_request(frame[: -len(DELIMITER)]) == (b"\xff\xd8image bytes", chat_id)


def test_request_as_the_original_client_wrote_it():
    original = json.dumps({"image": base64.b64encode(b"png!").decode(), "chat_id": 42}).encode()
    assert decode_request(original) == (b"png!", 42)


def test_wrapped_base64_and_data_urls_are_accepted():
    wrapped = base64.encodebytes(b"x" * 200).decode()  # newline every 76 characters
    assert decode_request(json.dumps({"image": wrapped, "chat_id": 1}).encode())[0] == b"x" * 200
    data_url = "data:image/png;base64," + base64.b64encode(b"abc").decode()
    assert decode_request(json.dumps({"image": data_url}).encode()) == (b"abc", None)


@pytest.mark.parametrize(
    "frame, message, chat_id",
    [
        (b"{not json", "not valid JSON", None),
        (b"\xff\xfe", "not valid JSON", None),
        (b"[1, 2]", "JSON object", None),
        (b'{"chat_id": 7}', 'no "image"', 7),
        (b'{"image": 12, "chat_id": 7}', "base64 string", 7),
        (b'{"image": "abc!@#$", "chat_id": "x"}', "not valid base64", "x"),
        (b'{"image": "", "chat_id": 7}', "empty", 7),
    ],
)
def test_malformed_requests_raise_protocol_errors_that_keep_the_chat_id(frame, message, chat_id):
    with pytest.raises(ProtocolError, match=message) as caught:
        decode_request(frame)
    assert caught.value.chat_id == chat_id


def test_frame_buffer_splits_frames_across_chunks_and_keeps_the_rest():
    frames = FrameBuffer(max_frame_bytes=1000)
    stream = b'{"a": 1}##END##{"b": 2}##EN'
    for byte in stream:  # one byte at a time, the worst split
        frames.feed(bytes([byte]))
    assert frames.pop_frame() == b'{"a": 1}'
    assert frames.pop_frame() is None
    frames.feed(b"D##")
    assert frames.pop_frame() == b'{"b": 2}'
    assert len(frames) == 0


def test_frame_buffer_rejects_data_past_the_cap_without_a_delimiter():
    frames = FrameBuffer(max_frame_bytes=100)
    frames.feed(b"x" * 100)
    assert frames.pop_frame() is None
    frames.feed(b"x")
    with pytest.raises(FrameTooLarge):
        frames.pop_frame()


def test_frame_cap_admits_the_largest_allowed_image():
    image = b"\x00" * 30_000
    frame = encode_request(image, 123456789)
    frames = FrameBuffer(max_frame_bytes(len(image)))
    frames.feed(frame)
    assert decode_request(frames.pop_frame())[0] == image


def test_replies_round_trip():
    prediction = {
        "predictions": [{"label": "cat", "proba": 0.9625}],
        "label": "cat",
        "unknown": False,
    }
    reply = prediction_reply(prediction, 5)
    assert decode_reply(encode_reply(reply)[: -len(DELIMITER)]) == {**prediction, "chat_id": 5}
    assert decode_reply(encode_reply(error_reply("bad", 5))[: -len(DELIMITER)]) == {
        "error": "bad",
        "chat_id": 5,
    }
    with pytest.raises(ProtocolError):
        decode_reply(b'{"something": "else"}')


def test_a_delimiter_inside_a_string_cannot_split_a_message():
    frame = encode_reply(error_reply("say ##END## twice ##END##", "chat ##END##"))
    assert frame.count(DELIMITER) == 1
    assert decode_reply(frame[: -len(DELIMITER)]) == {
        "error": "say ##END## twice ##END##",
        "chat_id": "chat ##END##",
    }
    request = encode_request(b"img", "##END##")
    assert request.count(DELIMITER) == 1 and decode_request(request[: -len(DELIMITER)]) == (
        b"img",
        "##END##",
    )
