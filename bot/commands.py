"""`petclf tcp-server` and `petclf bot`."""

import logging
import os
import signal
import threading

from bot import config, logs
from bot.errors import BotError, ConfigError
from classifier.artifact import model_path

log = logging.getLogger("petclf.bot")


def register(subparsers) -> None:
    server = subparsers.add_parser(
        "tcp-server",
        help="serve the model over TCP (JSON + ##END##) for the Telegram bot and other clients",
        description=(
            "Serve the classifier over TCP. A request is the JSON object "
            '{"image": "<base64 of the image file>", "chat_id": <any>} followed by ##END##; '
            'the reply is {"predictions": [top 5 {"label", "proba"}], "label", "unknown", "chat_id"} '
            'or {"error": "...", "chat_id"}, followed by ##END##. Several requests may share a '
            "connection. SIGTERM finishes the requests in progress, then exits."
        ),
    )
    server.add_argument(
        "--host", help="address to listen on (default: host of PETCLF_TCP_ADDR, else 127.0.0.1)"
    )
    server.add_argument(
        "--port",
        type=int,
        help="port (default: port of PETCLF_TCP_ADDR, else 9999; 0 picks a free one)",
    )
    server.add_argument("--model", help="model file (default: PETCLF_MODEL, else models/pets.h5)")
    server.add_argument(
        "--workers",
        type=int,
        default=4,
        help="worker threads; more keep slow clients from holding up others (default: 4)",
    )
    server.add_argument(
        "--max-mb",
        type=float,
        help=f"largest image accepted, in MB (default: {config.DEFAULT_MAX_IMAGE_MB})",
    )
    server.add_argument(
        "--read-timeout",
        type=float,
        default=30.0,
        help="seconds a client has to send a whole request (default: 30)",
    )
    server.set_defaults(func=run_tcp_server)

    chat = subparsers.add_parser(
        "bot",
        help="run the Telegram bot (needs TELEGRAM_TOKEN and a running tcp-server)",
        description=(
            "Run the Telegram bot: users send a photo, an image file or a link to an image and get the "
            "top 5 guesses back. The token comes from TELEGRAM_TOKEN (never a flag, so it stays out of "
            "process lists); TELEGRAM_API_URL points at a self-hosted Bot API server; the classifier is "
            "the tcp-server at PETCLF_TCP_ADDR. SIGTERM answers every queued message, then exits."
        ),
    )
    chat.add_argument(
        "--api-url", help=f"Bot API root (default: TELEGRAM_API_URL, else {config.DEFAULT_API_URL})"
    )
    chat.add_argument(
        "--tcp-addr",
        help=f"classifier host:port (default: PETCLF_TCP_ADDR, else {config.DEFAULT_TCP_ADDR})",
    )
    chat.add_argument(
        "--poll-timeout",
        type=int,
        default=10,
        help="seconds each getUpdates long poll waits (default: 10)",
    )
    chat.add_argument(
        "--retry-seconds",
        type=float,
        default=60.0,
        help="seconds to retry an unreachable classifier before apologising (default: 60)",
    )
    chat.add_argument(
        "--max-mb",
        type=float,
        help=f"largest image downloaded, in MB (default: {config.DEFAULT_MAX_IMAGE_MB})",
    )
    chat.add_argument(
        "--download-timeout",
        type=float,
        default=20.0,
        help="seconds allowed for one image download (default: 20)",
    )
    chat.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="also fetch links to private/loopback addresses (for local testing; default: PETCLF_BOT_ALLOW_PRIVATE_URLS)",
    )
    chat.set_defaults(func=run_chat_bot)


def _stop_on_signals(stop_callback) -> None:
    """First SIGTERM/SIGINT: stop gracefully. A second one: give up waiting."""

    def handle(signum, frame):
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()
        log.info("%s received: finishing what is in progress", signal.Signals(signum).name)
        stop_callback()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_tcp_server(args) -> int:
    env_host, env_port = config.tcp_addr(None)
    host = args.host or env_host
    port = env_port if args.port is None else args.port
    model = model_path(args.model)
    max_bytes = config.max_image_bytes(args.max_mb)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}.")
    logs.configure("tcp-server")

    from bot.tcp_server import ClassificationServer  # the engine pulls in TensorFlow: only now
    from classifier import load_engine

    engine = load_engine(model)
    tags_model = os.environ.get("PETCLF_TAGS_MODEL")  # a tags model adds "tags" to each reply
    tagger = load_engine(tags_model, task="tags") if tags_model else None
    try:
        server = ClassificationServer(
            engine,
            host,
            port,
            workers=args.workers,
            max_image_bytes=max_bytes,
            read_timeout=args.read_timeout,
            tagger=tagger,
        )
    except OSError as exc:
        raise BotError(f"can't listen on {host}:{port}: {exc.strerror or exc}") from None
    _stop_on_signals(server.stop)
    bound_host, bound_port = server.address
    if not _is_loopback(bound_host):
        log.warning(
            "listening on %s: the protocol has no authentication, keep it behind a firewall",
            bound_host,
        )
    log.info(
        "listening on %s:%s (model %s, %d workers)", bound_host, bound_port, model, server.workers
    )
    server.serve()
    log.info("stopped")
    return 0


def run_chat_bot(args) -> int:
    from bot.chatbot import Settings, run_bot
    from store.files import home

    token = config.telegram_token()
    redact = logs.configure("bot", secrets=[token])
    settings = Settings(
        token=token,
        api_root=config.telegram_api_root(args.api_url),
        tcp_addr=config.tcp_addr(args.tcp_addr),
        max_download_bytes=config.max_image_bytes(args.max_mb),
        spool_dir=home() / config.SPOOL_FOLDER,
        allow_private_urls=args.allow_private_urls
        or config.env_flag("PETCLF_BOT_ALLOW_PRIVATE_URLS"),
        poll_timeout=max(1, args.poll_timeout),
        download_timeout=args.download_timeout,
        classifier_retry_seconds=args.retry_seconds,
    )
    stop = threading.Event()
    _stop_on_signals(stop.set)
    run_bot(settings, stop, redact)
    return 0


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
