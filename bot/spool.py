"""Messages the bot has taken from Telegram but not answered yet, one JSON file each.

The bot confirms an update to Telegram (the next getUpdates offset) as soon as the message is
kept here, and forgets it once its reply has been handed to Telegram. A restart, even after
kill -9, answers whatever is still kept, so no confirmed message is ever lost.

    spool/<update_id>.json   the message as the Bot API sent it
"""

import json
import os
import tempfile
from pathlib import Path


class Spool:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def keep(self, update_id: int, message: dict) -> None:
        """Durable when it returns: written to a scratch file, flushed to disk, renamed into place."""
        handle, scratch = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(message, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(scratch, self._path(update_id))
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        self._sync_folder()

    def done(self, update_id: int) -> None:
        self._path(update_id).unlink(missing_ok=True)

    def pending(self) -> list[tuple[int, dict]]:
        """(update_id, message) of every kept message, oldest first; scratch files of a crash are dropped."""
        for scratch in self.folder.glob(".*.part"):
            scratch.unlink(missing_ok=True)
        kept = []
        for path in self.folder.glob("*.json"):
            try:
                kept.append((int(path.stem), json.loads(path.read_text())))
            except ValueError:  # a damaged file holds nothing that could be answered
                continue
        return sorted(kept, key=lambda item: item[0])

    def _path(self, update_id: int) -> Path:
        return self.folder / f"{update_id}.json"

    def _sync_folder(self) -> None:
        """The rename itself survives a power cut only once the folder is flushed."""
        handle = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
