"""The TCP classification server: the main thread accepts, worker threads answer.

Each accepted socket goes on a queue; a worker reads delimiter-terminated requests from
it (several per connection, or one as the original client does), classifies each image
with the engine loaded once for the process, and writes one reply per request. A bad
request costs its sender an error reply, never the server.

This server, not the bot, mints each prediction's id and keeps it in the store: it holds the
model and the photo's bytes, so the bot stays a thin client that never opens the store.
"""

import logging
import queue
import socket
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import FrameTooLarge, ProtocolError
from bot.wire import (
    FrameBuffer,
    correction_reply,
    correction_request,
    decode_message,
    encode_reply,
    error_reply,
    image_request,
    max_frame_bytes,
    prediction_reply,
)
from classifier import Prediction
from petclf.errors import PetclfError
from preprocessing import ImageError
from projects import corrections
from projects.errors import NotFound, ProjectError, TooMany
from projects.predictions import ServedModel, record_one
from store import session

log = logging.getLogger("petclf.tcp_server")

TOP_K = 5
ACCEPT_POLL_SECONDS = 0.5  # how often the accept loop and idle workers look at the stop flag
RECV_CHUNK = 256 * 1024


class _Disconnected(Exception):
    """The peer closed its side."""


class _Idle(Exception):
    """A kept-open connection had nothing more to say (or the server is stopping)."""


class ClassificationServer:
    def __init__(
        self,
        engine,
        host: str,
        port: int,
        *,
        workers: int,
        max_image_bytes: int,
        read_timeout: float,
        tagger=None,
    ):
        self.engine = engine
        self.tagger = tagger  # a tags model's engine, or None
        self.workers = max(1, workers)
        self.max_image_bytes = max_image_bytes
        self.read_timeout = read_timeout
        self._served = ServedModel.shipped(engine)
        self._stopping = threading.Event()
        self._sockets: queue.Queue = queue.Queue()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=128)
        self._listener.settimeout(ACCEPT_POLL_SECONDS)

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.getsockname()[:2]

    def stop(self) -> None:
        """Ask the server to stop: no new connections; requests already in progress finish."""
        self._stopping.set()

    def serve(self) -> None:
        """Accept until stop() is called, then let the workers finish and return."""
        threads = [
            threading.Thread(target=self._work, name=f"tcp-worker-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            with self._listener:
                while not self._stopping.is_set():
                    try:
                        conn, peer = self._listener.accept()
                    except TimeoutError:
                        continue
                    except OSError as exc:  # e.g. too many open files: keep serving the others
                        log.warning("accept failed: %s", exc)
                        time.sleep(ACCEPT_POLL_SECONDS)
                        continue
                    self._sockets.put((conn, peer))
        finally:
            self._stopping.set()
            for _ in threads:
                self._sockets.put(None)  # after every accepted socket: those still get served
            for thread in threads:
                thread.join()

    def _work(self) -> None:
        while (item := self._sockets.get()) is not None:
            conn, peer = item
            try:
                self._serve_connection(conn, peer)
            except Exception:  # a bug in one connection must not take the worker down
                log.exception("unexpected error serving %s", peer)
            finally:
                conn.close()

    def _serve_connection(self, conn: socket.socket, peer) -> None:
        frames = FrameBuffer(max_frame_bytes(self.max_image_bytes))
        served = 0
        while True:
            try:
                frame = self._read_frame(conn, frames, idle_allowed=served > 0)
            except FrameTooLarge as exc:
                log.info("%s: %s", peer, exc)
                self._send(conn, error_reply(str(exc)))
                return
            except TimeoutError:
                log.info("%s: no complete request within %gs", peer, self.read_timeout)
                self._send(
                    conn, error_reply(f"No complete request within {self.read_timeout:g} seconds.")
                )
                return
            except _Disconnected:
                if len(frames):
                    log.info("%s: disconnected in the middle of a request", peer)
                return
            except _Idle:
                return
            except OSError as exc:
                log.info("%s: connection error: %s", peer, exc)
                return
            if not self._send(conn, self._answer(frame)):
                return
            served += 1
            if self._stopping.is_set():
                return

    def _read_frame(self, conn: socket.socket, frames: FrameBuffer, *, idle_allowed: bool) -> bytes:
        """The next request; the whole request must arrive within read_timeout (no slow-drip)."""
        deadline = time.monotonic() + self.read_timeout
        while (frame := frames.pop_frame()) is None:
            if self._stopping.is_set() and idle_allowed and not len(frames):
                raise _Idle()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if idle_allowed and not len(frames):
                    raise _Idle()
                raise TimeoutError()
            conn.settimeout(min(remaining, ACCEPT_POLL_SECONDS))
            try:
                chunk = conn.recv(RECV_CHUNK)
            except TimeoutError:
                continue
            if not chunk:
                raise _Disconnected()
            frames.feed(chunk)
        return frame

    def _answer(self, frame: bytes) -> dict:
        started = time.perf_counter()
        try:
            request = decode_message(frame)
            if "correction" in request:
                return self._correction(*correction_request(request))
            image, chat_id = image_request(request)
        except ProtocolError as exc:
            log.info("bad request: %s", exc)
            return error_reply(str(exc), exc.chat_id)
        if len(image) > self.max_image_bytes:
            return error_reply(
                f"The image is larger than {self.max_image_bytes / 2**20:g} MB.", chat_id
            )
        try:
            padded = self.engine.prepare(image)  # decoded once, for the classifier and the tagger
            prediction = self._kept(self.engine.predict_image(padded, top=TOP_K), image).to_dict()
            if self.tagger is not None:
                prediction["tags"] = self.tagger.tag_image(padded)
        except ImageError as exc:
            log.info("unusable image: %s", exc)
            return error_reply(str(exc), chat_id)
        except Exception:  # never let one image kill the worker; the client gets an answer
            log.exception("classification failed")
            return error_reply("The classifier failed on this image.", chat_id)
        log.info(
            "classified as %s in %.0f ms",
            prediction.get("label"),
            (time.perf_counter() - started) * 1000,
        )
        return prediction_reply(prediction, chat_id, classes=self.engine.labels)

    def _correction(self, prediction_id: str, choice: str, client: str, chat_id) -> dict:
        """Record a correction sent through the bot; the status says what became of it."""
        try:
            with session() as db:
                received = corrections.correct_choice(db, prediction_id, choice, client, "bot")
                label = received.correction.label
        except NotFound:
            return correction_reply("expired", None, chat_id)
        except TooMany:
            return correction_reply("flood", None, chat_id)
        except ProjectError as exc:  # a choice off the model, or reviewed already
            log.info("correction refused: %s", exc)
            return correction_reply("refused", None, chat_id)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not record a correction: %s", exc)
            return error_reply("The correction could not be recorded; try again later.", chat_id)
        log.info("correction %s: %s", "recorded" if received.new else "repeated", label)
        return correction_reply("recorded" if received.new else "again", label, chat_id)

    def _kept(self, prediction: Prediction, image: bytes) -> Prediction:
        """The prediction with its id, kept for corrections; without one when the store fails (the
        person still gets the answer, only no correction buttons)."""
        try:
            return record_one(prediction, image, self._served, "bot")
        except (SQLAlchemyError, OSError, PetclfError) as exc:
            log.warning("could not keep a prediction for corrections: %s", exc)
            return prediction

    def _send(self, conn: socket.socket, reply: dict) -> bool:
        try:
            conn.settimeout(self.read_timeout)
            conn.sendall(encode_reply(reply))
            return True
        except OSError as exc:
            log.info("could not send the reply: %s", exc)
            return False
