"""The Telegram bot: three stages that share nothing but two queues.

    receiving ──(chat_id, image bytes)──► queue 1 ──► client ──(reply text)──► queue 2 ──► sending
        └──────────── hints, help and download errors go straight to queue 2 ─────────────┘

Receiving long-polls getUpdates, keeps each message in the spool (on disk) and only then moves
the offset past it, so a crash, even kill -9, loses nothing: Telegram sends unconfirmed updates
again, and the next start answers what the spool still holds. Downloads run on a few fetcher
threads of the receiving stage, so a slow link delays only its own chat; each chat's images
still reach queue 1 in the order they were sent. Client asks the TCP classification server,
retrying for a bounded time. Sending is the only thread that writes to the chat; a message
leaves the spool once its reply has been handed to Telegram. On stop, each stage passes a
sentinel down the line, so the queues drain before the process exits.

A reply to a photo carries correction buttons ("It's a …", "None of these"). A tap travels the same
line: receiving queues it, client sends the correction to the TCP server (which kept the
prediction), sending answers the tap with a toast and edits the reply to say thanks.
"""

import logging
import queue
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import telebot
from telebot import apihelper
from telebot.apihelper import ApiException, ApiTelegramException

from bot import fetch, replies, why
from bot.errors import (
    BotError,
    ClassifierUnavailable,
    ConfigError,
    DownloadTooLarge,
    FetchError,
    TelegramConflict,
)
from bot.keyboard import Buttons, correction_buttons, read_callback
from bot.messages import FileRef, Intent, read_intent
from bot.spool import Spool
from bot.tcp_client import classify, correct
from preprocessing import IMAGE_SIZE, ImageError, decode

log = logging.getLogger("petclf.bot")

CONFLICT_RETRY_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
SEND_RETRY_SECONDS = 60.0
# back-pressure: polling pauses (and confirms nothing) while the classifier lags
JOB_QUEUE_SIZE = 100
FETCHERS = 8  # downloads at once; polling pauses while all are busy
SHUTDOWN = object()
TOKEN_REJECTED = "Telegram rejected TELEGRAM_TOKEN (401 Unauthorized)."
ALLOWED_UPDATES = ["message", "callback_query"]  # callback queries: taps on correction buttons
CORRECTION_TOASTS = {
    "again": replies.CORRECTION_AGAIN,
    "expired": replies.CORRECTION_EXPIRED,
    "flood": replies.CORRECTION_FLOOD,
    "refused": replies.CORRECTION_REFUSED,
}


@dataclass(frozen=True)
class Settings:
    token: str
    api_root: str
    tcp_addr: tuple[str, int]
    max_download_bytes: int
    spool_dir: Path
    allow_private_urls: bool = False
    poll_timeout: int = 10
    download_timeout: float = 20.0
    classify_timeout: float = 30.0
    classifier_retry_seconds: float = 60.0


@dataclass(frozen=True)
class ImageJob:
    chat_id: int
    message_id: int
    image: bytes
    update_id: int  # its spool entry
    explain: bool = False  # /why: the heat map, not the top 5


@dataclass(frozen=True)
class CorrectionJob:
    """A tap on a correction button under one of our replies."""

    callback_id: str
    chat_id: int
    message_id: int  # the reply that carries the buttons
    text: str  # that reply's text, which the thanks are added to
    prediction_id: str
    choice: str  # the class's number, or "none"
    client: str  # who tapped, for the server's flood limit


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str | None = None
    action: str | None = None  # a chat action such as "typing", instead of a text
    photo: bytes | None = None  # a picture to send, `text` its caption (a /why heat map)
    reply_to: int | None = None
    answers: int | None = None  # the update (spool entry) this text is the final reply to
    buttons: Buttons | None = None  # an inline keyboard under the text
    callback: str | None = None  # answer this callback query with `text` as a toast
    edit: int | None = None  # replace this message's text (and drop its keyboard)


def use_api_root(root: str) -> None:
    """Point pyTelegramBotAPI at `root` laid out like the official server (also self-hosted)."""
    escaped = root.replace("{", "{{").replace("}", "}}")
    apihelper.API_URL = escaped + "/bot{0}/{1}"
    apihelper.FILE_URL = escaped + "/file/bot{0}/{1}"


def new_api(token: str) -> telebot.TeleBot:
    return telebot.TeleBot(token, threaded=False, parse_mode=None)


class Backoff:
    def __init__(self, first: float = 0.5, limit: float = MAX_BACKOFF_SECONDS):
        self.first, self.limit, self.delay = first, limit, first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.limit)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class RetryWindow:
    """One retry budget per outage, shared by every message that meets it.

    Without it, each queued message would wait out its own window, and a long queue in
    front of a dead server would take hours to apologise (and to shut down).
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline: float | None = None
        self.backoff = Backoff(first=0.25, limit=5.0)

    def next_delay(self) -> float | None:
        """Seconds to wait before trying again, or None once the outage has used up the window."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        delay = self.backoff.next()
        return delay if now + delay <= self.deadline else None

    def succeeded(self) -> None:
        self.deadline = None
        self.backoff.reset()


class Receiver(threading.Thread):
    """Long-polls updates; keeps each message in the spool, then hands it to the fetchers
    (images for queue 1) or answers it at once on queue 2."""

    def __init__(
        self,
        settings: Settings,
        jobs: queue.Queue,
        outbox: queue.Queue,
        spool: Spool,
        stop: threading.Event,
        redact,
    ):
        super().__init__(name="receiving", daemon=True)
        self.settings, self.jobs, self.outbox, self.spool, self.stop, self.redact = (
            settings,
            jobs,
            outbox,
            spool,
            stop,
            redact,
        )
        self.error: BaseException | None = None  # read by the main thread after join()
        self.fetchers = ThreadPoolExecutor(FETCHERS, thread_name_prefix="fetching")
        self.idle_fetchers = threading.Semaphore(FETCHERS)
        # each chat's latest fetch, which the next one queues behind
        self.last_of_chat: dict[int, Future] = {}
        self.chats_lock = threading.Lock()

    def run(self) -> None:
        self.api = new_api(self.settings.token)
        self.files = fetch.new_session(public_only=False)  # Telegram's own file server
        self.links = fetch.new_session(public_only=not self.settings.allow_private_urls)
        self.offset = None  # the next update_id to ask for; everything below it is in the spool
        try:
            self._answer_spooled()
            self._poll()
        except BaseException as exc:
            self.error = exc
        finally:
            self._confirm()
            self.fetchers.shutdown(wait=True)  # their images reach queue 1 before the sentinel
            self.jobs.put(SHUTDOWN)

    def _answer_spooled(self) -> None:
        """What a previous run confirmed to Telegram but did not answer (it was killed)."""
        pending = self.spool.pending()
        if pending:
            log.info("answering %d message(s) kept from the previous run", len(pending))
            # anything Telegram still holds below it is already kept
            self.offset = pending[-1][0] + 1
        for update_id, message in pending:
            self._handle_safely(update_id, telebot.types.Message.de_json(message))

    def _poll(self) -> None:
        established = False  # has one getUpdates call of ours completed?
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                updates = self.api.get_updates(
                    offset=self.offset,
                    long_polling_timeout=self.settings.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except (requests.RequestException, ApiException) as exc:
                self._after_failure(exc, backoff, established=established)
                continue
            established = True
            backoff.reset()
            for update in updates:
                if self.stop.is_set():
                    break  # left unconfirmed: Telegram hands it to the next run
                # edits, channel posts and the like are not for this bot
                if update.message is not None:
                    self.spool.keep(update.update_id, update.message.json)
                    self._handle_safely(update.update_id, update.message)
                # not spooled: a lost tap can be tapped again
                elif update.callback_query is not None:
                    self._tapped(update.callback_query)
                self.offset = update.update_id + 1

    def _after_failure(self, exc: Exception, backoff: Backoff, *, established: bool) -> None:
        """Raise what retrying can't fix (a rejected token, another poller from the start);
        otherwise wait before the next getUpdates."""
        code = exc.error_code if isinstance(exc, ApiTelegramException) else None
        if code == 401:
            raise ConfigError(TOKEN_REJECTED) from None
        if code == 409:
            if not established:
                raise TelegramConflict(
                    "Another bot process is already polling updates for this token "
                    "(Telegram answered 409 Conflict); stop it first. Exiting."
                ) from None
            log.warning(
                "another process asked for this bot's updates (409 Conflict); polling again"
            )
            self.stop.wait(CONFLICT_RETRY_SECONDS)
            return
        delay = backoff.next()
        log.warning(
            "getUpdates failed (%s); polling again in %.2gs",
            self.redact(describe_failure(exc)),
            delay,
        )
        self.stop.wait(delay)

    def _confirm(self) -> None:
        """getUpdates with a higher offset is what tells Telegram the handled updates are done."""
        if self.offset is None:
            return
        try:
            self.api.get_updates(
                offset=self.offset, limit=1, long_polling_timeout=1, allowed_updates=ALLOWED_UPDATES
            )
        except Exception as exc:  # the worst case is a repeated answer on the next start
            log.warning(
                "could not confirm the last updates (%s)", self.redact(describe_failure(exc))
            )

    def _handle_safely(self, update_id: int, message) -> None:
        try:
            intent = read_intent(message)
            if intent.command in ("start", "help"):
                self._say(
                    update_id, message, replies.START if intent.command == "start" else replies.HELP
                )
            elif intent.command == why.COMMAND:
                self._explain(update_id, message)
            elif not intent.has_image_source:
                self._say(update_id, message, replies.HINT)
            else:
                self.outbox.put(Outgoing(message.chat.id, action="typing"))
                self._start_fetch(update_id, message, intent)
        except Exception:  # one odd message must not stop the bot, nor be retried forever
            log.exception("could not handle message %s", message.message_id)
            self._say(update_id, message, replies.SOMETHING_WENT_WRONG)

    def _explain(self, update_id: int, message) -> None:
        """/why: fetch the photo it replies to, for the client to ask for its heat map."""
        intent = why.why_intent(message)
        if not intent.has_image_source:
            self._say(update_id, message, why.HINT)
            return
        self.outbox.put(Outgoing(message.chat.id, action="upload_photo"))
        self._start_fetch(update_id, message, intent)

    def _tapped(self, query) -> None:
        """A correction button: queued for the client thread, which asks the TCP server."""
        tapped = read_callback(query.data)
        message = query.message
        if tapped is None or message is None:
            self.outbox.put(Outgoing(0, text=replies.CORRECTION_REFUSED, callback=query.id))
            return
        prediction_id, choice = tapped
        self.jobs.put(
            CorrectionJob(
                query.id,
                message.chat.id,
                message.message_id,
                message.text or "",
                prediction_id,
                choice,
                f"telegram:{query.from_user.id}",
            )
        )

    def _start_fetch(self, update_id: int, message, intent: Intent) -> None:
        """Download on a fetcher thread, after waiting for an idle one: the bound on downloads."""
        self.idle_fetchers.acquire()
        chat_id = message.chat.id
        with self.chats_lock:
            before = self.last_of_chat.get(chat_id)
            fetching = self.fetchers.submit(self._fetch_in_turn, update_id, message, intent, before)
            self.last_of_chat[chat_id] = fetching
        fetching.add_done_callback(lambda done: self._fetch_finished(chat_id, done))

    def _fetch_finished(self, chat_id: int, done: Future) -> None:
        self.idle_fetchers.release()
        with self.chats_lock:
            if self.last_of_chat.get(chat_id) is done:
                del self.last_of_chat[chat_id]

    def _fetch_in_turn(
        self, update_id: int, message, intent: Intent, before: Future | None
    ) -> None:
        """Fetch now; hand the outcome on only after the chat's earlier message (so replies keep
        the chat's order). `before` started earlier on this pool, so waiting for it can't deadlock."""
        try:
            outcome = self._fetch_outcome(update_id, message, intent)
        except Exception:
            log.exception("could not handle message %s", message.message_id)
            outcome = self._reply(update_id, message, replies.SOMETHING_WENT_WRONG)
        if before is not None:
            before.result()
        if isinstance(outcome, ImageJob):
            self.jobs.put(outcome)
        else:
            self.outbox.put(outcome)

    def _fetch_outcome(self, update_id: int, message, intent: Intent) -> "ImageJob | Outgoing":
        """The job for queue 1, or the reply that says why there is none."""
        try:
            image = self._fetch(intent)
        except DownloadTooLarge:
            return self._reply(
                update_id, message, replies.too_large(self.settings.max_download_bytes)
            )
        except FetchError as exc:
            return self._reply(update_id, message, replies.could_not_download(str(exc)))
        except ImageError as exc:
            return self._reply(update_id, message, replies.not_an_image(str(exc)))
        return ImageJob(
            message.chat.id, message.message_id, image, update_id, intent.command == why.COMMAND
        )

    def _fetch(self, intent: Intent) -> bytes:
        """The bytes of a usable image (checked by the one image path), or a FetchError/ImageError."""
        limit, timeout = self.settings.max_download_bytes, self.settings.download_timeout
        if intent.file is not None:
            url = self._file_url(intent.file)
            return checked_image(fetch.download(self.files, url, max_bytes=limit, timeout=timeout))
        first_error = None
        for url in intent.urls:  # the first link that yields an image wins
            try:
                fetch.check_link(url)
                return checked_image(
                    fetch.download(self.links, url, max_bytes=limit, timeout=timeout)
                )
            except (FetchError, ImageError) as exc:
                first_error = first_error or exc
        raise first_error

    def _file_url(self, file: FileRef) -> str:
        """Where Telegram serves `file`; DownloadTooLarge or FetchError when it won't hand it over."""
        if file.file_size and file.file_size > self.settings.max_download_bytes:
            raise DownloadTooLarge()
        try:
            file_path = self.api.get_file(file.file_id).file_path
        except ApiTelegramException as exc:
            if "too big" in (exc.description or "").lower():
                raise DownloadTooLarge() from None
            raise FetchError("Telegram did not hand over the file.") from None
        except (requests.RequestException, ApiException):
            raise FetchError("Telegram did not hand over the file.") from None
        return apihelper.FILE_URL.format(self.settings.token, file_path)

    def _say(self, update_id: int, message, text: str) -> None:
        self.outbox.put(self._reply(update_id, message, text))

    @staticmethod
    def _reply(update_id: int, message, text: str) -> Outgoing:
        return Outgoing(message.chat.id, text=text, reply_to=message.message_id, answers=update_id)


def checked_image(data: bytes) -> bytes:
    """Raise ImageError unless `data` is an image the classifier can read."""
    decode(data, draft_size=IMAGE_SIZE)
    return data


class Client(threading.Thread):
    """Takes images from queue 1, asks the TCP server, puts the reply text on queue 2."""

    def __init__(self, settings: Settings, jobs: queue.Queue, outbox: queue.Queue):
        super().__init__(name="client", daemon=True)
        self.settings, self.jobs, self.outbox = settings, jobs, outbox
        self.outage = RetryWindow(settings.classifier_retry_seconds)

    def run(self) -> None:
        while (job := self.jobs.get()) is not SHUTDOWN:
            if isinstance(job, CorrectionJob):
                self._correct(job)
                continue
            buttons = photo = None
            try:
                if job.explain:
                    photo, text = why.explain(job.image)
                else:
                    text, buttons = self._answer(job)
            except Exception:  # whatever happens, the chat hears back
                log.exception("classifying a photo for a chat failed")
                text = replies.SOMETHING_WENT_WRONG
            self.outbox.put(
                Outgoing(
                    job.chat_id,
                    text=text,
                    photo=photo,
                    reply_to=job.message_id,
                    answers=job.update_id,
                    buttons=buttons,
                )
            )
        self.outbox.put(SHUTDOWN)

    def _correct(self, job: CorrectionJob) -> None:
        """Ask the TCP server to record the correction; a toast says what became of it, and a
        recorded one thanks the person in the reply itself, whose buttons go."""
        try:
            reply = correct(
                self.settings.tcp_addr,
                job.prediction_id,
                job.choice,
                job.client,
                job.chat_id,
                timeout=self.settings.classify_timeout,
            )
            status = reply.get("correction", {}).get("status")
        except ClassifierUnavailable as exc:
            log.warning("could not record a correction: %s", exc)
            reply, status = {}, "unavailable"
        if status == "recorded":
            thanks = replies.correction_thanks(reply["correction"]["label"])
            self.outbox.put(Outgoing(job.chat_id, text=thanks, callback=job.callback_id))
            edited = f"{job.text}\n\n{thanks}" if job.text else thanks
            self.outbox.put(Outgoing(job.chat_id, text=edited, edit=job.message_id))
            return
        toast = CORRECTION_TOASTS.get(status, replies.CORRECTION_UNAVAILABLE)
        self.outbox.put(Outgoing(job.chat_id, text=toast, callback=job.callback_id))

    def _answer(self, job: ImageJob) -> tuple[str, Buttons | None]:
        while True:
            try:
                reply = classify(
                    self.settings.tcp_addr,
                    job.image,
                    job.chat_id,
                    timeout=self.settings.classify_timeout,
                )
            except ClassifierUnavailable as exc:
                delay = self.outage.next_delay()
                if delay is None:
                    log.error("giving up on a photo: %s", exc)
                    return replies.UNAVAILABLE, None
                log.warning("%s; retrying in %.2gs", str(exc).rstrip("."), delay)
                self.outbox.put(Outgoing(job.chat_id, action="typing"))
                time.sleep(delay)
                continue
            self.outage.succeeded()
            if "error" in reply:
                log.info("the classifier could not use a photo: %s", reply["error"])
                return replies.could_not_classify(str(reply["error"])), None
            log.info(
                "classified a photo as %s", reply.get("label") or reply["predictions"][0]["label"]
            )
            return replies.predictions_text(reply), correction_buttons(reply)


class Sender(threading.Thread):
    """The only thread that writes to chats: texts from queue 2, with retries; chat actions once."""

    def __init__(self, settings: Settings, outbox: queue.Queue, spool: Spool, redact):
        super().__init__(name="sending", daemon=True)
        self.settings, self.outbox, self.spool, self.redact = settings, outbox, spool, redact
        self.outage = RetryWindow(SEND_RETRY_SECONDS)

    def run(self) -> None:
        self.api = new_api(self.settings.token)
        while (item := self.outbox.get()) is not SHUTDOWN:
            if item.action:
                self._send_action(item)
                continue
            if item.callback or item.edit:
                self._touch_up(item)
                continue
            self._send_text(item)
            # delivered, refused for good or given up on: done either way
            if item.answers is not None:
                self.spool.done(item.answers)

    def _send_action(self, item: Outgoing) -> None:
        try:
            self.api.send_chat_action(item.chat_id, item.action)
        except Exception as exc:  # cosmetic; never worth a retry
            log.info("chat action failed (%s)", self.redact(describe_failure(exc)))

    def _touch_up(self, item: Outgoing) -> None:
        """answerCallbackQuery or editMessageText: once, since a tap's spinner stops by itself."""
        try:
            if item.callback:
                self.api.answer_callback_query(item.callback, text=item.text)
            else:
                self.api.edit_message_text(item.text, chat_id=item.chat_id, message_id=item.edit)
        except Exception as exc:
            log.info("could not answer a correction (%s)", self.redact(describe_failure(exc)))

    def _send_text(self, item: Outgoing) -> None:
        reply_to = (
            telebot.types.ReplyParameters(item.reply_to, allow_sending_without_reply=True)
            if item.reply_to
            else None
        )
        while True:
            try:
                self._post(item, reply_to)
                self.outage.succeeded()
                return
            except ApiTelegramException as exc:
                # blocked by the user, chat gone
                if exc.error_code != 429 and 400 <= exc.error_code < 500:
                    log.warning(
                        "Telegram refused a message: %s", self.redact(exc.description or str(exc))
                    )
                    return
                reason = self.redact(describe_failure(exc))
                retry_after = (exc.result_json.get("parameters") or {}).get("retry_after")
            except (requests.RequestException, ApiException) as exc:
                reason, retry_after = self.redact(describe_failure(exc)), None
            delay = self.outage.next_delay()
            if delay is None:
                log.error("could not deliver a reply: %s", reason)
                return
            delay = max(delay, float(retry_after or 0))  # Telegram's flood control says how long
            log.warning("sendMessage failed (%s); retrying in %.2gs", reason, delay)
            time.sleep(delay)

    def _post(self, item: Outgoing, reply_to) -> None:
        if item.photo is not None:
            self.api.send_photo(
                item.chat_id, item.photo, caption=item.text, reply_parameters=reply_to
            )
            return
        self.api.send_message(
            item.chat_id,
            item.text,
            reply_parameters=reply_to,
            reply_markup=inline_keyboard(item.buttons),
        )


def inline_keyboard(buttons: Buttons | None) -> telebot.types.InlineKeyboardMarkup | None:
    if not buttons:
        return None
    markup = telebot.types.InlineKeyboardMarkup()
    for row in buttons:
        markup.row(
            *(telebot.types.InlineKeyboardButton(text, callback_data=data) for text, data in row)
        )
    return markup


def short_reason(exc: BaseException) -> str:
    """'Connection refused' rather than a page of urllib3 internals (which also quote the URL)."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(
        r"RemoteDisconnected\('([^']+)'", text
    )
    return match.group(1).strip() if match else type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """A short reason for a failed Bot API call."""
    if isinstance(exc, ApiTelegramException):
        return f"{exc.error_code} {exc.description}"
    if isinstance(exc, ApiException) and getattr(exc, "result", None) is not None:
        return f"HTTP {exc.result.status_code} {exc.result.reason}"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return short_reason(exc)


def run_bot(settings: Settings, stop: threading.Event, redact) -> None:
    """Run until `stop` is set (then drain both queues) or the receiver hits a fatal error."""
    use_api_root(settings.api_root)
    try:
        me = new_api(settings.token).get_me()
    except ApiTelegramException as exc:
        if exc.error_code == 401:
            raise ConfigError(TOKEN_REJECTED) from None
        raise BotError(
            f"The Telegram Bot API at {settings.api_root} refused getMe: {exc.description}"
        ) from None
    except (requests.RequestException, ApiException) as exc:
        raise BotError(
            f"Can't reach the Telegram Bot API at {settings.api_root} ({short_reason(exc)})."
        ) from None
    jobs: queue.Queue = queue.Queue(maxsize=JOB_QUEUE_SIZE)
    outbox: queue.Queue = queue.Queue()
    spool = Spool(settings.spool_dir)
    receiver = Receiver(settings, jobs, outbox, spool, stop, redact)
    threads = [receiver, Client(settings, jobs, outbox), Sender(settings, outbox, spool, redact)]
    for thread in threads:
        thread.start()
    host, port = settings.tcp_addr
    log.info(
        "@%s is polling %s for updates; classifier at %s:%s",
        me.username,
        settings.api_root,
        host,
        port,
    )
    # join() with a timeout keeps the main thread able to run signal handlers.
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
    log.info("stopped")
    if isinstance(receiver.error, BotError):
        raise receiver.error
    if receiver.error is not None:  # a bug: keep the token out of the one line the CLI prints
        raise BotError(
            redact(f"unexpected {type(receiver.error).__name__} while polling: {receiver.error}")
        )
