"""With a tags model (PETCLF_TAGS_MODEL), the TCP server's reply gains "tags" and the bot a tags: line."""

from bot.replies import predictions_text
from tests.bot.processes import start_tcp_server
from tests.bot.test_tcp_server import original_client
from tests.training.test_tags import backbone_weights, mosaics, tags_model  # noqa: F401
from training.tag_labels import read_tag_labels


def test_the_server_answers_tags_and_the_bot_shows_them(tiny_model, tags_model, mosaics, tmp_path):  # noqa: F811
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    server, port = start_tcp_server(
        tiny_model, tmp_path / "server.log", env={"PETCLF_TAGS_MODEL": str(tags_model[0])}
    )
    try:
        replies = [
            original_client(port, path.read_bytes(), n) for n, path in enumerate(labels.paths[:6])
        ]
    finally:
        server.stop()
    right = 0
    for reply, truth in zip(replies, labels.targets):
        assert {"predictions", "label", "unknown", "tags"} <= set(reply)
        shown = [tag["tag"] for tag in reply["tags"]]
        right += set(shown) == {tag for tag, has in zip(labels.tags, truth) if has}
        text = predictions_text(reply).splitlines()
        assert text[0].startswith("1. ") and text[-1] == "tags: " + (", ".join(shown) or "none")
    assert right >= 5


def test_a_reply_without_tags_has_no_tags_line():
    reply = {"predictions": [{"label": "cat", "proba": 0.9}], "label": "cat", "unknown": False}
    assert "tags" not in predictions_text(reply)
    assert predictions_text({**reply, "tags": []}).splitlines()[-1] == "tags: none"
