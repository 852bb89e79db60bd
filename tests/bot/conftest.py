"""Fixtures of the bot and TCP server tests: the Bot API stand-in, a web server for image
links, and the real server and bot processes."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bot.processes import start_tcp_server
from tests.bot.standin import BotApiStandIn, Updates

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def standin():
    api = BotApiStandIn(TOKEN).start()
    yield api
    api.close()


@pytest.fixture
def updates(standin):
    return Updates(standin)


@pytest.fixture(scope="module")
def tcp_server(tiny_model, tmp_path_factory):
    """A running `petclf tcp-server` on a free port, shared by a module's tests.

    Small limits (1 MB images, 3 s to send a request) keep the bad-request tests quick.
    """
    server, port = start_tcp_server(
        tiny_model,
        tmp_path_factory.mktemp("tcp") / "server.log",
        extra=["--max-mb", "1", "--read-timeout", "3"],
    )
    server.port = port
    yield server
    server.stop()


@pytest.fixture
def web(tmp_path):
    """A local web server for image links: web.serve(path, body, content_type) -> URL."""
    routes = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path not in routes:
                self.send_error(404)
                return
            body, content_type = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Web:
        def serve(self, path, body, content_type="image/jpeg"):
            routes[path] = (body, content_type)
            return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield Web()
    server.shutdown()
    server.server_close()
