"""The real `petclf tcp-server` process, driven over real sockets."""

import base64
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.tcp_client import classify
from tests.bot.helpers import jpeg
from tests.bot.processes import start_tcp_server

END = b"##END##"
LABELS = {"bird", "cat", "dog"}


def read_reply(sock: socket.socket) -> dict:
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a reply; got {data!r}"
        data += chunk
    frame, rest = data.split(END, 1)
    assert rest == b""
    return json.loads(frame)


def original_client(port: int, image: bytes, chat_id) -> dict:
    """Written the way the original assignment's bot did it: one connection per request."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(("127.0.0.1", port))
    message = json.dumps({"image": base64.b64encode(image).decode("utf-8"), "chat_id": chat_id})
    sock.sendall(message.encode("utf-8") + b"##END##")
    reply = read_reply(sock)
    sock.close()
    return reply


def assert_predictions(reply: dict, chat_id) -> None:
    assert reply["chat_id"] == chat_id, reply
    predictions = reply["predictions"]
    # top 5 of a 3-class model
    assert [set(p) for p in predictions] == [{"label", "proba"}] * len(LABELS)
    assert {p["label"] for p in predictions} == LABELS
    probas = [p["proba"] for p in predictions]
    assert probas == sorted(probas, reverse=True) and sum(probas) == pytest.approx(1, abs=1e-3)
    assert reply["label"] in (predictions[0]["label"], "unknown") and reply["unknown"] == (
        reply["label"] == "unknown"
    )
    assert len(reply["id"]) == 12 and reply["classes"] == ["bird", "cat", "dog"]  # for corrections


def test_original_client_one_connection_per_request(tcp_server):
    replies = []
    for n, label in enumerate(["cat", "dog", "bird"]):
        replies.append(original_client(tcp_server.port, jpeg(label, n), 1821266651 + n))
        assert_predictions(replies[-1], 1821266651 + n)
    # each image its own answer
    assert len({json.dumps(reply["predictions"]) for reply in replies}) == 3
    assert (
        original_client(tcp_server.port, jpeg("cat", 0), "again")["predictions"]
        == replies[0]["predictions"]
    )


def test_several_requests_on_one_connection_including_pipelined(tcp_server):
    with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as sock:

        def request(label, chat):
            body = {"image": base64.b64encode(jpeg(label)).decode(), "chat_id": chat}
            return json.dumps(body).encode() + END

        sock.sendall(request("cat", "a"))
        assert_predictions(read_reply(sock), "a")
        sock.sendall(request("dog", "b") + request("bird", "c"))  # two at once: answered in order
        data = b""
        while data.count(END) < 2:
            data += sock.recv(65536)
        first, second, _ = data.split(END)
    for reply, label, chat_id in (
        (json.loads(first), "dog", "b"),
        (json.loads(second), "bird", "c"),
    ):
        assert_predictions(reply, chat_id)
        assert (
            reply["predictions"] == original_client(tcp_server.port, jpeg(label), 0)["predictions"]
        )


@pytest.mark.parametrize(
    "payload, message, chat_id",
    [
        (b"{this is not json" + END, "not valid JSON", None),
        (json.dumps({"chat_id": 77}).encode() + END, 'no "image"', 77),
        (
            json.dumps({"image": "%%%not base64%%%", "chat_id": 78}).encode() + END,
            "not valid base64",
            78,
        ),
        (
            json.dumps(
                {"image": base64.b64encode(b"%PDF-1.7 a document").decode(), "chat_id": 79}
            ).encode()
            + END,
            "PDF",
            79,
        ),
        (
            json.dumps(
                {"image": base64.b64encode(b"hello, world").decode(), "chat_id": 80}
            ).encode()
            + END,
            "not a photo",
            80,
        ),
        (
            json.dumps(
                {"image": base64.b64encode(jpeg("cat")[:300]).decode(), "chat_id": 81}
            ).encode()
            + END,
            "damaged",
            81,
        ),
    ],
)
def test_bad_requests_get_an_error_reply_and_the_connection_stays_usable(
    tcp_server, payload, message, chat_id
):
    with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as sock:
        sock.sendall(payload)
        reply = read_reply(sock)
        assert (
            set(reply) == {"error", "chat_id"}
            and message in reply["error"]
            and reply["chat_id"] == chat_id
        )
        sock.sendall(
            json.dumps({"image": base64.b64encode(jpeg("dog")).decode(), "chat_id": 5}).encode()
            + END
        )
        assert_predictions(read_reply(sock), 5)


def test_no_delimiter_before_the_size_cap(tcp_server):
    with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as sock:
        try:
            sock.sendall(b'{"image": "' + b"A" * 3_000_000)  # the server's cap is about 1.4 MB
        except OSError:
            pass  # the server may close before taking it all; its reply is still readable
        reply = read_reply(sock)
    assert "larger than" in reply["error"]
    assert_predictions(original_client(tcp_server.port, jpeg("cat"), 1), 1)


def test_silent_clients_time_out_with_an_error_reply(tcp_server):
    with (
        socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as quiet,
        socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as stalled,
    ):
        stalled.sendall(b'{"image": "/9j/4AAQ')  # starts, then goes silent
        for sock in (quiet, stalled):
            assert "No complete request within 3 seconds" in read_reply(sock)["error"]
            assert sock.recv(1) == b""  # and the server hangs up


def test_disconnect_mid_message_and_reset_do_not_hurt_the_server(tcp_server):
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", tcp_server.port))
        sock.sendall(b'{"image": "' + base64.b64encode(jpeg("cat"))[:500])
        sock.close()
    sock = socket.create_connection(("127.0.0.1", tcp_server.port))
    # RST on close
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.sendall(b'{"image"')
    sock.close()
    assert tcp_server.proc.poll() is None
    assert_predictions(original_client(tcp_server.port, jpeg("bird", 3), 9), 9)


def test_concurrent_clients_all_get_their_own_answer(tcp_server):
    jobs = [(label, n) for n in range(4) for label in ("cat", "dog", "bird")]

    def ask(job):
        return classify(("127.0.0.1", tcp_server.port), jpeg(*job), f"{job[0]}-{job[1]}")

    alone = [ask(job) for job in jobs]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(ask, jobs))
    for (label, n), reply, expected in zip(jobs, together, alone):
        assert_predictions(reply, f"{label}-{n}")
        assert reply.pop("id") != expected.pop("id")  # each answer is kept under an id of its own
        assert reply == expected


def test_sigterm_finishes_the_request_in_flight_then_exits(tiny_model, tmp_path):
    server, port = start_tcp_server(tiny_model, tmp_path / "server.log")
    try:
        request = (
            json.dumps({"image": base64.b64encode(jpeg("dog")).decode(), "chat_id": 321}).encode()
            + END
        )
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request[:1000])
            # the accept loop takes the connection at once; this is margin on a busy machine
            time.sleep(1)
            server.proc.terminate()
            server.wait_for_log("SIGTERM received")
            sock.sendall(request[1000:])
            assert_predictions(read_reply(sock), 321)
        assert server.proc.wait(30) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
    finally:
        server.kill()


def test_missing_model_is_one_clear_line(tmp_path):
    from tests.bot.processes import PetclfProcess

    server = PetclfProcess(
        ["tcp-server", "--port", "0", "--model", str(tmp_path / "absent.h5")], tmp_path / "log", {}
    )
    try:
        assert server.proc.wait(120) == 1
        assert (
            server.log.strip()
            .splitlines()[-1]
            .startswith(f"petclf tcp-server: error: the model file {tmp_path / 'absent.h5'}")
        )
        assert "Traceback" not in server.log
    finally:
        server.kill()


def test_port_in_use_is_one_clear_line(tcp_server, tiny_model, tmp_path):
    from tests.bot.processes import PetclfProcess

    second = PetclfProcess(
        ["tcp-server", "--port", str(tcp_server.port), "--model", str(tiny_model)],
        tmp_path / "log",
        {},
    )
    try:
        assert second.proc.wait(120) == 1
        assert (
            second.log.strip()
            .splitlines()[-1]
            .startswith(
                f"petclf tcp-server: error: can't listen on 127.0.0.1:{tcp_server.port}: Address already in use"
            )
        )
    finally:
        second.kill()
    # the first one is unharmed
    assert_predictions(original_client(tcp_server.port, jpeg("cat"), 1), 1)
