"""The texts the bot sends (pure)."""

HELP = (
    "Send me a photo of a pet, an image file, or a link to an image, and I'll reply with my "
    "top 5 guesses of which animal it is. Reply /why to the photo to see where in it I looked."
)
START = "Hi! I recognise pets in photos. " + HELP
HINT = "Send me a photo or a link to an image and I'll tell you which pet it is (/help for more)."
UNAVAILABLE = (
    "Sorry, the classifier is unavailable right now. Please send the photo again in a few minutes."
)
UNKNOWN_LINE = (
    "This doesn't look like any of the pets I know, so take these guesses with a pinch of salt."
)
SOMETHING_WENT_WRONG = "Sorry, something went wrong with that message. Please try again."
CORRECTION_EXPIRED = "Sorry, this answer has expired. Send the photo again to correct it."
CORRECTION_AGAIN = "Thanks, I have that already."
CORRECTION_FLOOD = "Thanks, that's plenty of corrections for now. Please send more later."
CORRECTION_REFUSED = "Sorry, I can't record that correction."
CORRECTION_UNAVAILABLE = "Sorry, I couldn't record that right now. Please try again in a minute."


def predictions_text(reply: dict) -> str:
    """Five lines like '1. cat (0.9625)', plus a line when the image looks like none of the classes."""
    lines = [
        f"{rank}. {item['label']} ({float(item['proba']):.4f})"
        for rank, item in enumerate(reply["predictions"], 1)
    ]
    if reply.get("unknown") or reply.get("label") == "unknown":
        lines.append(UNKNOWN_LINE)
    if isinstance(reply.get("tags"), list):  # from a server with a tags model
        lines.append("tags: " + (", ".join(str(tag.get("tag")) for tag in reply["tags"]) or "none"))
    return "\n".join(lines)


def not_an_image(reason: str) -> str:
    return f"Sorry, I can't use that as a photo. {reason}"


def could_not_download(reason: str) -> str:
    return f"Sorry, I couldn't download that image. {reason}"


def too_large(limit_bytes: int) -> str:
    return f"Sorry, that file is too large; I can take images up to {limit_bytes / 2**20:g} MB."


def could_not_classify(reason: str) -> str:
    return f"Sorry, I couldn't classify that image. {reason}"


def correction_thanks(label: str) -> str:
    """The toast, and the line added to the corrected reply."""
    what = "none of the pets I know" if label == "none" else f"a {label.replace('_', ' ')}"
    return f"Thanks! I recorded that it's {what}. It helps train me once it has been reviewed."
