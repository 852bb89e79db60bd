from bot import replies


def test_five_lines_in_the_original_format():
    reply = {
        "predictions": [
            {"label": "cat", "proba": 0.9625},
            {"label": "dog", "proba": 0.03},
            {"label": "bird", "proba": 0.005},
            {"label": "fish", "proba": 0.0025},
            {"label": "hamster", "proba": 0.0},
        ],
        "label": "cat",
        "unknown": False,
        "chat_id": 1,
    }
    assert replies.predictions_text(reply) == (
        "1. cat (0.9625)\n2. dog (0.0300)\n3. bird (0.0050)\n4. fish (0.0025)\n5. hamster (0.0000)"
    )


def test_unknown_adds_one_line_and_old_replies_without_the_field_add_none():
    reply = {"predictions": [{"label": "cat", "proba": 0.4}], "label": "unknown", "unknown": True}
    assert replies.predictions_text(reply).splitlines() == ["1. cat (0.4000)", replies.UNKNOWN_LINE]
    old = {"predictions": [{"label": "cat", "proba": 0.4}], "chat_id": 3}
    assert replies.predictions_text(old) == "1. cat (0.4000)"


def test_too_large_names_the_limit():
    assert "20 MB" in replies.too_large(20 * 2**20)
