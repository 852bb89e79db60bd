"""What an incoming Telegram message asks for (pure functions over pyTelegramBotAPI types)."""

import re
from dataclasses import dataclass, field

MAX_URLS_PER_MESSAGE = 3
# A bare link in text that Telegram did not mark as an entity (e.g. forwarded or edited text).
_URL_PATTERN = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


@dataclass(frozen=True)
class FileRef:
    """A file stored on Telegram's side: photo size or document."""

    file_id: str
    file_size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Intent:
    """One message reduced to what the bot does with it."""

    command: str | None = None  # "start", "help" or another /command
    file: FileRef | None = None  # a photo (largest size) or a document
    urls: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_image_source(self) -> bool:
        return self.file is not None or bool(self.urls)


def read_intent(message) -> Intent:
    """Commands first, then a photo, an attached file, and finally links in the text or caption."""
    text = message.text or ""
    command = command_name(text)
    if command is not None:
        return Intent(command=command)
    if message.photo:
        biggest = largest_photo(message.photo)
        return Intent(file=FileRef(biggest.file_id, biggest.file_size))
    if message.document is not None:
        doc = message.document
        return Intent(file=FileRef(doc.file_id, doc.file_size, doc.file_name, doc.mime_type))
    urls = urls_in(text, message.entities) or urls_in(
        message.caption or "", message.caption_entities
    )
    return Intent(urls=urls)


def command_name(text: str) -> str | None:
    """'start' for '/start' or '/start@PetBot extra'; None when the text is not a command."""
    if not text.startswith("/"):
        return None
    word = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
    return word.split("@", 1)[0].lower() or None


def largest_photo(sizes):
    """Telegram lists a photo in several sizes; the one with the most pixels classifies best."""
    return max(sizes, key=lambda size: (size.width * size.height, size.file_size or 0))


def urls_in(text: str, entities) -> tuple[str, ...]:
    """Links in message order: url and text_link entities, then bare http(s) links; at most a few."""
    found = []
    for entity in entities or ():
        if entity.type == "text_link" and entity.url:
            found.append(entity.url)
        elif entity.type == "url":
            found.append(entity_text(text, entity.offset, entity.length))
    found.extend(
        match.group(0).rstrip(_TRAILING_PUNCTUATION) for match in _URL_PATTERN.finditer(text)
    )
    unique = []
    for url in map(with_scheme, found):
        if url not in unique:
            unique.append(url)
    return tuple(unique[:MAX_URLS_PER_MESSAGE])


def entity_text(text: str, offset: int, length: int) -> str:
    """Telegram counts entity offsets in UTF-16 code units (an emoji counts twice)."""
    utf16 = text.encode("utf-16-le")
    return utf16[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def with_scheme(url: str) -> str:
    """Telegram marks 'example.com/cat.jpg' as a link; browsers open it over http."""
    url = url.strip()
    return url if re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE) else f"http://{url}"
