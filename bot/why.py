"""/why, sent as a reply to a photo: that photo back with the heat map of where the model found
its answer. The worker's heat-map service draws it (classifier.heatmap_client), so the bot still
never loads TensorFlow. It explains the shipped model, PETCLF_MODEL, which the TCP server serves.
"""

import logging
from dataclasses import replace

from bot.messages import Intent, read_intent
from classifier.artifact import model_path
from classifier.heatmap_client import HeatmapRefused, HeatmapUnavailable, heatmap

COMMAND = "why"
HINT = "Reply /why to a photo you sent me, and I'll show you where in it I found my answer."
UNAVAILABLE = "Sorry, I can't show where I looked right now. Please try again in a few minutes."

log = logging.getLogger("petclf.bot")


def why_intent(message) -> Intent:
    """The photo, file or link of the message /why replies to, marked as a /why (no image source
    when it replies to nothing usable)."""
    replied = message.reply_to_message
    source = read_intent(replied) if replied is not None else Intent()
    return replace(source, command=COMMAND)


def explain(image: bytes) -> tuple[bytes | None, str]:
    """(the overlay PNG, its caption), or (None, an apology) when no map can be drawn."""
    try:
        found = heatmap(model_path(), image)
    except HeatmapUnavailable as exc:
        log.error("no heat map: %s", exc)
        return None, UNAVAILABLE
    except HeatmapRefused as exc:
        log.info("the heat-map service refused a photo: %s", exc)
        return None, f"Sorry, I can't show where I looked. {exc}"
    label = found.label.replace("_", " ")
    return found.png, f"Where I saw a {label}: the warm colours mark what made me say so."
