"""Corrections in the chat: the real `petclf bot` and `petclf tcp-server` against the Bot API
stand-in. The reply carries an inline keyboard; a tap is answered with answerCallbackQuery, the
reply is edited to say thanks and what was recorded; a tap on an expired answer only gets a toast."""

from datetime import timedelta

import pytest
from sqlalchemy import select

import store
from bot import replies
from store import Correction, ServedPrediction
from store.models import now
from tests.bot.conftest import TOKEN
from tests.bot.helpers import jpeg
from tests.bot.processes import start_bot, start_tcp_server
from tests.bot.standin import BotApiStandIn, Updates
from tests.projects.helpers import wait_until


@pytest.fixture
def chat(tiny_model, tmp_path, monkeypatch):
    """(stand-in, updates) of a bot whose TCP server keeps its store in a home this test reads."""
    home = tmp_path / "server"
    server, port = start_tcp_server(
        tiny_model, tmp_path / "server.log", env={"PETCLF_HOME": str(home)}
    )
    standin = BotApiStandIn(TOKEN).start()
    bot = start_bot(standin.url, TOKEN, port, tmp_path / "bot.log")
    monkeypatch.setenv("PETCLF_HOME", str(home))
    yield standin, Updates(standin)
    assert bot.stop() == 0
    standin.close()
    server.stop()


def buttons(reply: dict) -> list[dict]:
    return [button for row in reply["message"]["reply_markup"]["inline_keyboard"] for button in row]


def stored() -> list[tuple]:
    with store.session() as db:
        found = db.scalars(select(Correction).order_by(Correction.id))
        return [(one.label, one.channel, one.client, one.state) for one in found]


def tap(standin, updates, reply: dict, data: str) -> dict:
    update = updates.callback(reply["message"], data)
    standin.push(update)
    return standin.wait_for_callback_answer(update["callback_query"]["id"])


def test_a_tap_records_the_correction_and_thanks_in_the_reply(chat):
    standin, updates = chat
    standin.push(updates.photo(3001, jpeg("cat", 1)))
    [reply] = standin.wait_for_replies(3001)
    keyboard = buttons(reply)
    assert [button["text"] for button in keyboard] == [
        "It's a bird",
        "It's a cat",
        "It's a dog",
        "None of these",
    ]
    assert all(len(button["callback_data"].encode()) <= 64 for button in keyboard)

    answer = tap(standin, updates, reply, keyboard[2]["callback_data"])
    thanks = replies.correction_thanks("dog")
    assert answer["text"] == thanks
    [edit] = wait_until(lambda: standin.edits, 30, "the reply edited")
    assert edit["message_id"] == reply["message"]["message_id"]
    assert edit["text"] == f"{reply['text']}\n\n{thanks}" and edit["reply_markup"] is None
    assert stored() == [("dog", "bot", "telegram:3001", "pending")]

    again = tap(standin, updates, reply, keyboard[2]["callback_data"])
    assert again["text"] == replies.CORRECTION_AGAIN
    assert len(stored()) == 1 and len(standin.edits) == 1


def test_a_tap_on_an_expired_answer_gets_a_polite_toast_and_stores_nothing(chat):
    standin, updates = chat
    standin.push(updates.photo(3002, jpeg("dog", 2)))
    [reply] = standin.wait_for_replies(3002)
    none_of_these = buttons(reply)[-1]["callback_data"]
    prediction_id = none_of_these.split(":")[1]
    with store.session() as db:
        db.get(ServedPrediction, prediction_id).expires_at = now() - timedelta(seconds=1)

    answer = tap(standin, updates, reply, none_of_these)
    assert answer["text"] == replies.CORRECTION_EXPIRED and "has expired" in answer["text"]
    old = tap(standin, updates, reply, "fix:AAAAAAAAAAAA:1")  # from a message of long ago
    assert old["text"] == replies.CORRECTION_EXPIRED
    assert stored() == [] and standin.edits == []
