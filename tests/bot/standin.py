"""A local stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1.

It lays out URLs like the official server (`/bot<token>/<method>`, files at
`/file/bot<token>/<path>`) and serves getMe, getUpdates (long polling, offset
confirmation, 409 Conflict when a second poller cuts in), getFile, file downloads,
sendMessage (with an inline keyboard), sendPhoto (a multipart upload), sendChatAction, answerCallbackQuery and
editMessageText. Updates are built from the real captures in
tests/fixtures/telegram/ with only ids, file ids and texts rewritten.
"""

import copy
import email.parser
import email.policy
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


def capture(name: str) -> dict:
    """One real capture: an Update, a Message, or a getUpdates response."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class BotApiStandIn:
    def __init__(self, token: str):
        self.token = token
        self.bot_user = {
            "id": 7000001,
            "is_bot": True,
            "first_name": "Pet classifier",
            "username": "petclf_test_bot",
        }
        self._lock = threading.Condition()
        self._pending: list[dict] = []  # delivered until confirmed by a higher offset
        self._update_ids = itertools.count(500000001)
        self._message_ids = itertools.count(9001)
        self._file_ids = itertools.count(1)
        self._poll_generation = 0
        self._closed = False
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.sent: list[dict] = []  # sendMessage calls, with the time they arrived
        self.actions: list[dict] = []
        self.callback_answers: list[dict] = []  # answerCallbackQuery calls
        self.edits: list[dict] = []  # editMessageText calls
        self.calls: dict[str, int] = {}
        self.pushed_at: dict[int, float] = {}  # update_id -> when it appeared
        # (status, body) answered to the next sendMessage calls
        self.send_failures: list[tuple[int, dict]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "BotApiStandIn":
        self._thread.start()
        return self

    def close(self) -> None:
        """Go away like a server that is switched off: waiting polls are dropped unanswered."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # --- what tests do -------------------------------------------------------------------

    def add_file(self, content: bytes, file_path: str) -> tuple[str, str]:
        """Store a file as Telegram would; returns (file_id, file_unique_id)."""
        n = next(self._file_ids)
        file_id = f"AgACAgUAAxkBAAI{n:08d}standin"
        self.files[file_id] = (file_path, content)
        return file_id, f"AQAD{n:08d}"

    def push(self, update: dict) -> int:
        """Queue an update (its update_id is rewritten); returns the update_id."""
        update = copy.deepcopy(update)
        with self._lock:
            update["update_id"] = next(self._update_ids)
            self._pending.append(update)
            self.pushed_at[update["update_id"]] = time.monotonic()
            self._lock.notify_all()
        return update["update_id"]

    def replies_to(self, chat_id: int) -> list[dict]:
        with self._lock:
            return [m for m in self.sent if m["chat_id"] == chat_id]

    def wait_for_replies(self, chat_id: int, count: int = 1, timeout: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := [m for m in self.sent if m["chat_id"] == chat_id]) < count:
                if (
                    not self._lock.wait(max(0.0, deadline - time.monotonic()))
                    and time.monotonic() >= deadline
                ):
                    raise AssertionError(
                        f"chat {chat_id}: {len(found)} of {count} replies after {timeout}s: {found}"
                    )
            return found

    def wait_for_callback_answer(self, callback_id: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (found := [a for a in self.callback_answers if a["id"] == callback_id]):
                if time.monotonic() >= deadline:
                    raise AssertionError(f"callback {callback_id} unanswered after {timeout}s")
                self._lock.wait(0.1)
            return found[0]

    def wait_for_calls(self, method: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.calls.get(method, 0) < count:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"{method} called {self.calls.get(method, 0)} times, expected {count}"
                    )
                self._lock.wait(0.1)

    def wait_until_confirmed(self, timeout: float = 30.0) -> None:
        """Until the bot has asked for updates past every pushed one, which confirms them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"updates {[u['update_id'] for u in self._pending]} unconfirmed after {timeout}s"
                    )
                self._lock.wait(0.1)

    def pending_update_ids(self) -> list[int]:
        with self._lock:
            return [u["update_id"] for u in self._pending]

    # --- the API -------------------------------------------------------------------------

    def _get_updates(self, params: dict) -> tuple[int, dict]:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        with self._lock:
            if offset:  # an offset confirms every update below it
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
            self._lock.notify_all()  # a poll already waiting is cut off, like Telegram does
            while True:
                if self._closed:
                    raise ConnectionAbortedError("the stand-in is closing")
                if generation != self._poll_generation:
                    return 409, {"ok": False, "error_code": 409, "description": CONFLICT}
                ready = [u for u in self._pending if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return 200, {"ok": True, "result": ready[:limit]}
                self._lock.wait(remaining)

    def _send_photo(self, params: dict, uploads: dict[str, bytes]) -> tuple[int, dict]:
        """A photo uploaded as a file; kept in `sent` with its bytes and its caption as the text."""
        if "photo" not in uploads:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: no photo"}
        chat_id = int(params["chat_id"])
        reply = json.loads(params.get("reply_parameters") or "{}")
        message = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": {"id": chat_id, "first_name": "Tester", "type": "private"},
            "date": int(time.time()),
            "photo": [{"file_id": "sent", "file_unique_id": "sent", "width": 1, "height": 1}],
            "caption": params.get("caption", ""),
        }
        with self._lock:
            self.sent.append(
                {
                    "chat_id": chat_id,
                    "text": message["caption"],
                    "photo": uploads["photo"],
                    "reply_to": reply.get("message_id"),
                    "at": time.monotonic(),
                    "message": message,
                }
            )
            self._lock.notify_all()
        return 200, {"ok": True, "result": message}

    def _call(self, method: str, params: dict, uploads: dict | None = None) -> tuple[int, dict]:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            self._lock.notify_all()
        if method == "getMe":
            return 200, {"ok": True, "result": self.bot_user}
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "getFile":
            file_id = params.get("file_id", "")
            if file_id not in self.files:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: invalid file_id",
                }
            path, content = self.files[file_id]
            result = {
                "file_id": file_id,
                "file_unique_id": "AQAD" + file_id[-8:],
                "file_size": len(content),
                "file_path": path,
            }
            return 200, {"ok": True, "result": result}
        if method == "sendChatAction":
            with self._lock:
                self.actions.append(
                    {"chat_id": int(params["chat_id"]), "action": params.get("action")}
                )
            return 200, {"ok": True, "result": True}
        if method == "sendMessage" and self.send_failures:
            return self.send_failures.pop(0)
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            reply = json.loads(params.get("reply_parameters") or "{}")
            message = {
                "message_id": next(self._message_ids),
                "from": self.bot_user,
                "chat": {"id": chat_id, "first_name": "Tester", "type": "private"},
                "date": int(time.time()),
                "text": params.get("text", ""),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = json.loads(params["reply_markup"])
            with self._lock:
                self.sent.append(
                    {
                        "chat_id": chat_id,
                        "text": message["text"],
                        "reply_to": reply.get("message_id"),
                        "at": time.monotonic(),
                        "message": message,
                    }
                )
                self._lock.notify_all()
            return 200, {"ok": True, "result": message}
        if method == "sendPhoto":
            return self._send_photo(params, uploads or {})
        if method == "answerCallbackQuery":
            with self._lock:
                self.callback_answers.append(
                    {"id": params["callback_query_id"], "text": params.get("text")}
                )
                self._lock.notify_all()
            return 200, {"ok": True, "result": True}
        if method == "editMessageText":
            edited = {
                "chat_id": int(params["chat_id"]),
                "message_id": int(params["message_id"]),
                "text": params.get("text", ""),
                "reply_markup": json.loads(params.get("reply_markup") or "null"),
            }
            with self._lock:
                self.edits.append(edited)
                self._lock.notify_all()
            message = {
                "message_id": edited["message_id"],
                "from": self.bot_user,
                "chat": {"id": edited["chat_id"], "first_name": "Tester", "type": "private"},
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "text": edited["text"],
            }
            return 200, {"ok": True, "result": message}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                self._dispatch()

            def do_POST(self):
                self._dispatch()

            def _dispatch(self):
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                uploads = {}
                if kind.startswith("multipart/form-data"):
                    fields, uploads = multipart(kind, body)
                    params.update(fields)
                elif body:
                    params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
                segments = parts.path.strip("/").split("/", 2)
                if segments[0] == "file" and len(segments) == 3:
                    return self._file(segments[1], segments[2])
                if len(segments) == 2 and segments[0].startswith("bot"):
                    if segments[0] != f"bot{standin.token}":
                        return self._json(
                            401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                        )
                    try:
                        return self._json(*standin._call(segments[1], params, uploads))
                    except ConnectionAbortedError:
                        self.close_connection = True
                        return
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

            def _file(self, bot_segment, file_path):
                match = [c for p, c in standin.files.values() if p == file_path]
                if bot_segment != f"bot{standin.token}" or not match:
                    return self._json(
                        404, {"ok": False, "error_code": 404, "description": "Not Found"}
                    )
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(match[0])))
                self.end_headers()
                self.wfile.write(match[0])

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the poller went away
                    pass

        return Handler


def multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """(text fields, uploaded files' bytes) of a multipart/form-data body, by field name."""
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields, files = {}, {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = content
        else:
            fields[name] = content.decode()
    return fields, files


# --- updates shaped like the real captures ------------------------------------------------


class Updates:
    """Builds updates from the captures, for one stand-in and one chat at a time."""

    def __init__(self, standin: BotApiStandIn):
        self.standin = standin
        self._message_ids = itertools.count(100)

    def _message(self, chat_id: int, capture_name: str = "silikidi__PHOTO-JPG.json") -> dict:
        update = capture(capture_name)
        message = update["message"]
        message["message_id"] = next(self._message_ids)
        message["chat"]["id"] = chat_id
        message["from"]["id"] = chat_id
        for key in (
            "photo",
            "caption",
            "text",
            "entities",
            "media_group_id",
            "reply_to_message",
            "quote",
        ):
            message.pop(key, None)
        return update

    def photo(self, chat_id: int, image: bytes) -> dict:
        """The PHOTO-JPG capture, its sizes pointing at a small and the full-size copy of `image`."""
        update = capture("silikidi__PHOTO-JPG.json")
        update["message"]["message_id"] = next(self._message_ids)
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat_id
        sizes = update["message"]["photo"]
        for size in sizes:
            # Only the largest size holds the real picture: a bot taking a smaller one gets junk.
            biggest = size is max(sizes, key=lambda s: s["width"] * s["height"])
            content = image if biggest else b"thumbnail, not the largest size"
            size["file_id"], size["file_unique_id"] = self.standin.add_file(
                content, f"photos/file_{len(self.standin.files)}.jpg"
            )
            size["file_size"] = len(content)
        return update

    def media_group(self, chat_id: int, images: list[bytes]) -> list[dict]:
        """The MEDIAGROUP-PHOTO capture, once per image (Telegram sends an album as one update each)."""
        updates = []
        for image in images:
            update = capture("silikidi__MEDIAGROUP-PHOTO.json")
            message = update["message"]
            message["message_id"] = next(self._message_ids)
            message["chat"]["id"] = message["from"]["id"] = chat_id
            for size in message["photo"]:
                size["file_id"], size["file_unique_id"] = self.standin.add_file(
                    image, f"photos/album_{len(self.standin.files)}.jpg"
                )
                size["file_size"] = len(image)
            updates.append(update)
        return updates

    def document(self, chat_id: int, content: bytes, file_name: str, mime_type: str) -> dict:
        """A file sent "as a file": the photo capture's message with a Bot API Document in place of the sizes."""
        update = self._message(chat_id)
        file_id, unique_id = self.standin.add_file(content, f"documents/{file_name}")
        update["message"]["document"] = {
            "file_name": file_name,
            "mime_type": mime_type,
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_size": len(content),
        }
        return update

    def text(self, chat_id: int, text: str, entities: list[dict] | None = None) -> dict:
        """The TEXT capture with a new text; entities keep the captured shape."""
        update = capture("silikidi__TEXT.json")
        message = update["message"]
        message["message_id"] = next(self._message_ids)
        message["chat"]["id"] = message["from"]["id"] = chat_id
        message["text"] = text
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities")
        return update

    def text_with_url(self, chat_id: int, url: str, prefix: str = "what is this? ") -> dict:
        offset = len(prefix.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units
        return self.text(
            chat_id, prefix + url, [{"offset": offset, "length": len(url), "type": "url"}]
        )

    def text_link(self, chat_id: int, url: str, label: str = "my pet") -> dict:
        return self.text(
            chat_id, label, [{"offset": 0, "length": len(label), "type": "text_link", "url": url}]
        )

    def callback(self, message: dict, data: str) -> dict:
        """A tap on a button of `message` (one the bot sent), as Telegram sends it."""
        chat_id = message["chat"]["id"]
        return {
            "callback_query": {
                "id": f"{chat_id}{next(self._message_ids)}",
                "from": {"id": chat_id, "is_bot": False, "first_name": "Tester"},
                "message": message,
                "chat_instance": f"-{chat_id}",
                "data": data,
            }
        }

    def reply(self, chat_id: int, text: str, to: dict) -> dict:
        """The TEXT-REPLY capture: `text` (a command when it starts with "/") replying to the
        message `to`, which Telegram includes whole."""
        update = capture("silikidi__TEXT-REPLY.json")
        message = update["message"]
        message["message_id"] = next(self._message_ids)
        message["chat"]["id"] = message["from"]["id"] = chat_id
        message["text"] = text
        message["reply_to_message"] = copy.deepcopy(to)
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return update

    def command(self, chat_id: int, command: str) -> dict:
        """The /start update of the real getUpdates capture."""
        update = capture("silikidi__getUpdates.json")["result"][0]
        message = update["message"]
        message["message_id"] = next(self._message_ids)
        message["chat"]["id"] = message["from"]["id"] = chat_id
        message["text"] = command
        message["entities"][0]["length"] = len(command)
        return update
