"""Typed errors of the bot package; every message is meant for the person running it."""

from petclf.errors import PetclfError


class BotError(PetclfError):
    """Base class of everything the bot package raises on purpose."""


class ConfigError(BotError):
    """A setting (flag or environment variable) is missing or malformed."""


class ProtocolError(BotError):
    """A TCP request or reply does not follow the wire format."""

    def __init__(self, message: str, chat_id=None):
        super().__init__(message)
        self.chat_id = chat_id


class FrameTooLarge(ProtocolError):
    """More bytes arrived than the size cap allows without a delimiter."""


class ClassifierUnavailable(BotError):
    """The TCP classification server could not be reached or did not answer."""


class FetchError(BotError):
    """An image could not be downloaded; the message is shown to the chat user."""


class DownloadTooLarge(FetchError):
    """The file is larger than the download limit."""

    def __init__(self, message: str = "The file is too large."):
        super().__init__(message)


class BlockedAddress(FetchError):
    """A URL resolves to a private, loopback or link-local address (SSRF guard)."""


class TelegramConflict(BotError):
    """Another process is already polling updates for the same bot token."""
