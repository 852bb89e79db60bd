"""Settings of the server and the bot: flags, falling back to environment variables, then defaults."""

import os
import re

from bot.errors import ConfigError

DEFAULT_TCP_ADDR = "127.0.0.1:9999"
DEFAULT_API_URL = "https://api.telegram.org"
# The chat side's own image cap (the TCP server and the bot's downloads). PETCLF_MAX_UPLOAD_MB is
# the web page's limit, with its own default, so it is not read here.
DEFAULT_MAX_IMAGE_MB = 20
SPOOL_FOLDER = "bot-spool"  # under PETCLF_HOME: messages taken from Telegram and not answered yet


def parse_addr(text: str) -> tuple[str, int]:
    """'host:port' (IPv6 as '[::1]:9999') → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"{text!r} is not an address of the form host:port (like {DEFAULT_TCP_ADDR})."
        )
    return host.strip("[]"), int(port)


def tcp_addr(flag: str | None) -> tuple[str, int]:
    return parse_addr(flag or os.environ.get("PETCLF_TCP_ADDR") or DEFAULT_TCP_ADDR)


def max_image_bytes(flag: float | None) -> int:
    megabytes = DEFAULT_MAX_IMAGE_MB if flag is None else flag
    if megabytes <= 0:
        raise ConfigError("--max-mb must be a positive number of megabytes.")
    return int(megabytes * 1024 * 1024)


def telegram_token() -> str:
    token = os.environ.get("TELEGRAM_TOKEN", "").strip()
    if not token:
        raise ConfigError("TELEGRAM_TOKEN is not set; get a token from @BotFather and export it.")
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
        raise ConfigError(
            "TELEGRAM_TOKEN doesn't look like a bot token (digits, a colon, then letters, as @BotFather gives it)."
        )
    return token


def telegram_api_root(flag: str | None) -> str:
    root = (flag or os.environ.get("TELEGRAM_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ConfigError(f"TELEGRAM_API_URL must start with http:// or https://, not {root!r}.")
    return root


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
