"""The correction buttons under a prediction's reply, and what their callbacks carry (pure).

A button's callback data is `fix:<prediction id>:<class number or "none">`: at most 26 bytes with
the 12-character id, far under Telegram's 64, whatever the class names are.
"""

PREFIX = "fix"
NONE = "none"
PER_ROW = 2

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (text, callback data)


def correction_buttons(reply: dict) -> Buttons | None:
    """ "It's a …" for each of the model's classes and "None of these"; None when the server kept no
    id for the prediction (then nothing can be corrected)."""
    prediction_id, classes = reply.get("id"), reply.get("classes")
    if not isinstance(prediction_id, str) or not prediction_id or not classes:
        return None
    buttons = [
        (f"It's a {label.replace('_', ' ')}", f"{PREFIX}:{prediction_id}:{number}")
        for number, label in enumerate(classes)
    ]
    buttons.append(("None of these", f"{PREFIX}:{prediction_id}:{NONE}"))
    return tuple(tuple(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW))


def read_callback(data: str | None) -> tuple[str, str] | None:
    """(prediction id, choice) of a correction button's data; None for anything else."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1]:
        return None
    choice = parts[2]
    return (parts[1], choice) if choice == NONE or choice.isdigit() else None
