"""The real `petclf bot` process against the Bot API stand-in and the real TCP server."""

import pytest

from bot import replies
from tests.bot.conftest import TOKEN
from tests.bot.helpers import assert_prediction_text, jpeg
from tests.bot.processes import start_bot, start_tcp_server
from tests.bot.standin import BotApiStandIn, Updates
from tests.imagegen import encode, shape_image
from tests.servers import free_port

SECRET = TOKEN.split(":")[1]


@pytest.fixture(scope="module")
def chat(tcp_server, tmp_path_factory):
    """One stand-in and one bot with default settings for the conversation tests."""
    standin = BotApiStandIn(TOKEN).start()
    bot = start_bot(standin.url, TOKEN, tcp_server.port, tmp_path_factory.mktemp("bot") / "bot.log")
    bot.tcp_port = tcp_server.port
    yield standin, Updates(standin), bot
    assert bot.stop() == 0
    assert SECRET not in bot.log
    standin.close()


def test_photo_gets_ranked_lines_from_the_largest_size(chat):
    standin, updates, bot = chat
    image = jpeg("cat", 1, (800, 400))
    update = updates.photo(1001, image)
    standin.push(update)
    [reply] = standin.wait_for_replies(1001)
    assert_prediction_text(reply["text"], bot.tcp_port, image)
    assert reply["reply_to"] == update["message"]["message_id"]
    assert {"chat_id": 1001, "action": "typing"} in standin.actions


def test_image_sent_as_a_document(chat):
    standin, updates, bot = chat
    png = encode(shape_image("dog", 2, (300, 300)), "PNG")
    standin.push(updates.document(1002, png, "rex.png", "image/png"))
    assert_prediction_text(standin.wait_for_replies(1002)[0]["text"], bot.tcp_port, png)


def test_album_photos_are_each_answered(chat):
    standin, updates, bot = chat
    album = [jpeg("bird", 4), jpeg("dog", 5)]
    for update in updates.media_group(1003, album):
        standin.push(update)
    for reply, image in zip(standin.wait_for_replies(1003, 2), album):
        assert_prediction_text(reply["text"], bot.tcp_port, image)


def test_non_image_document_gets_a_friendly_error(chat):
    standin, updates, bot = chat
    standin.push(
        updates.document(
            1004, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "invoice.pdf", "application/pdf"
        )
    )
    [reply] = standin.wait_for_replies(1004)
    assert (
        reply["text"].startswith("Sorry, I can't use that as a photo.")
        and "PDF document" in reply["text"]
    )


def test_document_over_the_limit_is_refused_without_downloading(chat):
    standin, updates, bot = chat
    update = updates.document(1005, b"tiny", "huge.jpg", "image/jpeg")
    update["message"]["document"]["file_size"] = 25 * 2**20
    calls_before = standin.calls.get("getFile", 0)
    standin.push(update)
    assert standin.wait_for_replies(1005)[0]["text"] == replies.too_large(20 * 2**20)
    assert standin.calls.get("getFile", 0) == calls_before


def test_text_commands_and_hints(chat):
    standin, updates, bot = chat
    standin.push(updates.command(1006, "/start"))
    standin.push(updates.command(1006, "/help@petclf_test_bot"))
    standin.push(updates.text(1006, "Hai bot!"))
    assert [m["text"] for m in standin.wait_for_replies(1006, 3)] == [
        replies.START,
        replies.HELP,
        replies.HINT,
    ]


def test_link_to_a_private_address_is_refused_by_default(chat, web):
    standin, updates, bot = chat
    url = web.serve("/cat.jpg", jpeg("cat"))
    standin.push(updates.text_with_url(1007, url))
    [reply] = standin.wait_for_replies(1007)
    assert (
        reply["text"].startswith("Sorry, I couldn't download that image.")
        and "private or local" in reply["text"]
    )


def test_image_links_when_private_addresses_are_allowed(
    standin, updates, tcp_server, web, tmp_path
):
    bot = start_bot(
        standin.url,
        TOKEN,
        tcp_server.port,
        tmp_path / "bot.log",
        env={"PETCLF_BOT_ALLOW_PRIVATE_URLS": "1"},
    )
    try:
        cat, bird = jpeg("cat", 7), encode(shape_image("bird", 8), "PNG")
        cat_url = web.serve("/pets/cat.jpg", cat)
        standin.push(updates.text_with_url(2001, cat_url, prefix="🐱 what is this? "))
        standin.push(updates.text_link(2002, web.serve("/pets/bird.png", bird)))
        standin.push(
            updates.text_with_url(
                2003, web.serve("/page.html", b"<!doctype html><p>hi", "text/html")
            )
        )
        standin.push(updates.text_with_url(2004, cat_url.replace("cat.jpg", "gone.jpg")))
        assert_prediction_text(standin.wait_for_replies(2001)[0]["text"], tcp_server.port, cat)
        assert_prediction_text(standin.wait_for_replies(2002)[0]["text"], tcp_server.port, bird)
        assert "HTML page" in standin.wait_for_replies(2003)[0]["text"]
        assert "404" in standin.wait_for_replies(2004)[0]["text"]
    finally:
        assert bot.stop() == 0
    assert SECRET not in bot.log


def test_classifier_restart_mid_conversation_loses_nothing(standin, updates, tiny_model, tmp_path):
    server, port = start_tcp_server(tiny_model, tmp_path / "server1.log")
    bot = start_bot(standin.url, TOKEN, port, tmp_path / "bot.log", args=["--retry-seconds", "300"])
    try:
        standin.push(updates.photo(3000, jpeg("cat", 10)))
        assert_prediction_text(standin.wait_for_replies(3000)[0]["text"], port, jpeg("cat", 10))
        assert server.stop() == 0

        labels = {3001: "dog", 3002: "bird", 3003: "cat", 3004: "dog"}
        for chat_id, label in labels.items():
            standin.push(updates.photo(chat_id, jpeg(label, chat_id)))
        standin.push(updates.text(3005, "still there?"))
        assert standin.wait_for_replies(3005)[0]["text"] == replies.HINT
        bot.wait_for_log("retrying in")  # the photos are waiting on the classifier
        assert all(not standin.replies_to(chat_id) for chat_id in labels)

        server, _ = start_tcp_server(tiny_model, tmp_path / "server2.log", port=port)
        for chat_id, label in labels.items():
            [reply] = standin.wait_for_replies(chat_id, timeout=120)
            assert_prediction_text(reply["text"], port, jpeg(label, chat_id))
    finally:
        bot_exit = bot.stop()
        server.stop()
    assert bot_exit == 0
    assert standin.pending_update_ids() == []  # every update was confirmed on the way out
    # no repeats
    assert all(len(standin.replies_to(chat_id)) == 1 for chat_id in [3000, *labels, 3005])
    assert SECRET not in bot.log


def test_classifier_down_for_good_gets_an_apology(standin, updates, tmp_path):
    bot = start_bot(
        standin.url, TOKEN, free_port(), tmp_path / "bot.log", args=["--retry-seconds", "1"]
    )
    try:
        for chat_id in (4001, 4002, 4003):
            standin.push(updates.photo(chat_id, jpeg("cat", chat_id)))
        for chat_id in (4001, 4002, 4003):
            assert [m["text"] for m in standin.wait_for_replies(chat_id)] == [replies.UNAVAILABLE]
    finally:
        assert bot.stop() == 0


def test_replies_survive_telegram_flood_control_and_server_errors(chat):
    standin, updates, bot = chat
    standin.send_failures += [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    ]
    standin.push(updates.text(1008, "hello?"))
    assert [m["text"] for m in standin.wait_for_replies(1008)] == [replies.HINT]
    assert standin.send_failures == []


def test_sigterm_answers_everything_on_the_queues_and_leaves_the_rest_for_later(
    standin, updates, tcp_server, tmp_path
):
    bot = start_bot(standin.url, TOKEN, tcp_server.port, tmp_path / "bot.log")
    chats = list(range(5001, 5013))
    for chat_id in chats:
        standin.push(updates.photo(chat_id, jpeg("bird", chat_id)))
    standin.wait_for_calls("getFile", 2)  # the bot is working through the batch
    assert bot.stop() == 0
    pending = set(standin.pending_update_ids())
    answered = {chat_id for chat_id in chats if standin.replies_to(chat_id)}
    assert answered, "the updates taken before SIGTERM are answered"
    # Nothing lost: each update was either answered or is still waiting on Telegram's side.
    assert len(answered) + len(pending) == len(chats)
    for chat_id in answered:
        [reply] = standin.replies_to(chat_id)
        assert_prediction_text(reply["text"], tcp_server.port, jpeg("bird", chat_id))

    restarted = start_bot(standin.url, TOKEN, tcp_server.port, tmp_path / "bot2.log")
    try:
        for chat_id in chats:
            assert len(standin.wait_for_replies(chat_id)) == 1
    finally:
        assert restarted.stop() == 0


def test_second_bot_on_the_same_token_says_so_and_exits(standin, updates, tcp_server, tmp_path):
    first = start_bot(standin.url, TOKEN, tcp_server.port, tmp_path / "first.log")
    try:
        # one long poll completed: the first bot is established
        standin.wait_for_calls("getUpdates", 2)
        # A long poll for the second bot: it is cut off by the first bot's next poll, not by its own timeout.
        second = start_bot(
            standin.url,
            TOKEN,
            tcp_server.port,
            tmp_path / "second.log",
            args=["--poll-timeout", "60"],
        )
        assert second.proc.wait(60) == 1
        assert "Another bot process is already polling updates for this token" in second.log
        assert "Traceback" not in second.log
        standin.push(updates.photo(6001, jpeg("dog", 6)))
        assert_prediction_text(
            standin.wait_for_replies(6001)[0]["text"], tcp_server.port, jpeg("dog", 6)
        )
    finally:
        assert first.stop() == 0
    assert SECRET not in first.log + second.log


def test_token_stays_out_of_logs_when_the_api_is_flaky(tmp_path):
    standin = BotApiStandIn(TOKEN).start()
    bot = start_bot(
        standin.url, TOKEN, free_port(), tmp_path / "bot.log", env={"PETCLF_DEBUG": "1"}
    )
    standin.close()  # getUpdates now fails with connection errors that quote the URL
    try:
        bot.wait_for_log(r"getUpdates failed \(Connection refused\); polling again")
    finally:
        bot.stop()
    assert SECRET not in bot.log


def test_missing_token_or_bad_token_is_one_clear_line(standin, tmp_path):
    from tests.bot.processes import PetclfProcess

    missing = PetclfProcess(["bot"], tmp_path / "missing.log", {"TELEGRAM_API_URL": standin.url})
    assert missing.proc.wait(60) == 1
    assert (
        missing.log.strip()
        == "petclf bot: error: TELEGRAM_TOKEN is not set; get a token from @BotFather and export it."
    )
    wrong = PetclfProcess(
        ["bot"],
        tmp_path / "wrong.log",
        {"TELEGRAM_TOKEN": "1:wrongwrongwrong", "TELEGRAM_API_URL": standin.url},
    )
    assert wrong.proc.wait(60) == 1
    assert wrong.log.strip().endswith("Telegram rejected TELEGRAM_TOKEN (401 Unauthorized).")
    assert "wrongwrongwrong" not in wrong.log
    missing.kill()
    wrong.kill()


def test_malformed_token_is_refused_without_echoing_it(tmp_path):
    from tests.bot.processes import PetclfProcess

    bad = PetclfProcess(
        ["bot"],
        tmp_path / "bad.log",
        {"TELEGRAM_TOKEN": "my secret token", "TELEGRAM_API_URL": "http://127.0.0.1:9"},
    )
    try:
        assert bad.proc.wait(60) == 1
        assert bad.log.strip() == (
            "petclf bot: error: TELEGRAM_TOKEN doesn't look like a bot token "
            "(digits, a colon, then letters, as @BotFather gives it)."
        )
    finally:
        bad.kill()
