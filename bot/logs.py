"""Logging for the server and the bot, with the bot token scrubbed from every line.

Bot API URLs carry the token (`/bot<token>/getUpdates`), and HTTP libraries print URLs in
debug lines and exception messages, so the token is removed at the handler, whatever
logger a line comes from, and the chattiest request loggers are turned down.
"""

import logging
import sys

QUIET_LOGGERS = ("urllib3", "requests", "TeleBot")
MASK = "<token>"


class Redactor:
    def __init__(self, secrets=()):
        # The secret half of a token ("123:ABC" → "ABC") also catches URL-encoded forms.
        parts = set()
        for secret in filter(None, secrets):
            parts.add(secret)
            parts.add(secret.split(":", 1)[-1])
        self._secrets = sorted((part for part in parts if len(part) >= 6), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


class RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor):
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def configure(name: str, *, secrets=(), level: int = logging.INFO) -> Redactor:
    """One stderr handler on the root logger, scrubbing `secrets`; returns the scrubber."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {name} %(levelname)s %(threadName)s: %(message)s")
    )
    handler.addFilter(RedactingFilter(redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logger = logging.getLogger(noisy)
        logger.handlers.clear()  # pyTelegramBotAPI adds its own unfiltered stderr handler
        logger.propagate = True
        logger.setLevel(logging.WARNING)
    return redact
