"""/why as a reply to a photo: the real `petclf bot` downloads the photo it replies to, asks a real
heat-map service for the overlay and sends it with sendPhoto to the Bot API stand-in; a /why that
replies to no photo gets a hint, and a stopped service an apology."""

import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from bot import why
from classifier.heatmap_client import ping
from preprocessing import IMAGE_SIZE
from tests.bot.conftest import TOKEN
from tests.bot.helpers import jpeg
from tests.bot.processes import start_bot
from tests.bot.standin import BotApiStandIn, Updates
from tests.projects.helpers import wait_until
from tests.servers import free_port

STARTUP_SECONDS = 90


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_model):
    """A heat-map service for the tiny model on a free port: (its process, its address)."""
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "PETCLF_HOME": str(tmp_path_factory.mktemp("why-home")),
        "PETCLF_MODEL": str(tiny_model),
        "PETCLF_HEATMAP_ADDR": address,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.heatmap_service"], env=env, stderr=subprocess.DEVNULL
    )
    os.environ["PETCLF_HEATMAP_ADDR"] = address
    try:
        wait_until(ping, STARTUP_SECONDS, "the heat-map service answering")
    finally:
        del os.environ["PETCLF_HEATMAP_ADDR"]
    yield process, address
    process.terminate()
    process.wait()


@pytest.fixture(scope="module")
def chat(service, tiny_model, tmp_path_factory):
    standin = BotApiStandIn(TOKEN).start()
    env = {"PETCLF_MODEL": str(tiny_model), "PETCLF_HEATMAP_ADDR": service[1]}
    # /why never asks the TCP server, so none runs.
    log = tmp_path_factory.mktemp("why-bot") / "bot.log"
    bot = start_bot(standin.url, TOKEN, free_port(), log, env=env)
    yield standin, Updates(standin)
    assert bot.stop() == 0
    standin.close()


def test_why_replying_to_a_photo_sends_its_heat_map(chat):
    standin, updates = chat
    photo = updates.photo(2001, jpeg("cat", 11, (400, 300)))
    asking = updates.reply(2001, "/why", photo["message"])
    standin.push(asking)
    [sent] = standin.wait_for_replies(2001)
    assert sent["reply_to"] == asking["message"]["message_id"]
    overlay = Image.open(io.BytesIO(sent["photo"]))
    assert overlay.format == "PNG" and overlay.size == (IMAGE_SIZE, IMAGE_SIZE)
    assert sent["text"].startswith("Where I saw a cat")
    assert {"chat_id": 2001, "action": "upload_photo"} in standin.actions


def test_why_replying_to_no_photo_says_how_to_ask(chat):
    standin, updates = chat
    standin.push(updates.command(2002, "/why"))
    standin.push(updates.reply(2002, "/why", updates.text(2002, "hello")["message"]))
    assert [sent["text"] for sent in standin.wait_for_replies(2002, 2)] == [why.HINT, why.HINT]


def test_why_without_a_heat_map_service_apologises(chat, service):
    standin, updates = chat
    process, _ = service
    process.terminate()
    process.wait()
    photo = updates.photo(2003, jpeg("dog", 12))
    standin.push(updates.reply(2003, "/why", photo["message"]))
    [sent] = standin.wait_for_replies(2003)
    assert sent["text"] == why.UNAVAILABLE and "photo" not in sent
