"""Reading what a message asks for, on updates parsed from the real captures."""

from telebot.types import Update

from bot.messages import command_name, entity_text, read_intent, urls_in
from tests.bot.standin import capture


def message_of(update: dict):
    return Update.de_json(update).message


def test_photo_takes_the_largest_size_not_the_last():
    intent = read_intent(message_of(capture("silikidi__PHOTO-JPG.json")))
    # The capture lists 90×45, 320×160, 1000×500, 800×400: the third is the largest.
    assert intent.file.file_id.endswith("A3kAAyEE") and intent.file.file_size == 42940
    assert intent.command is None and intent.urls == ()


def test_media_group_photo_and_library_capture_photo():
    assert (
        read_intent(message_of(capture("silikidi__MEDIAGROUP-PHOTO.json"))).file.file_size == 144400
    )
    message = {"update_id": 1, "message": capture("pyTelegramBotAPI__message_photo.json")}
    assert read_intent(message_of(message)).file.file_size == 53013


def test_text_entities_give_text_link_then_url_in_message_order():
    intent = read_intent(message_of(capture("silikidi__TEXT.json")))
    assert intent.urls == ("https://telegram-bot-script.blogspot.com/", "https://telegram.org")


def test_commands_from_the_getupdates_capture():
    start, chat = capture("silikidi__getUpdates.json")["result"]
    assert read_intent(message_of(start)).command == "start"
    hint = read_intent(message_of(chat))
    assert hint.command is None and not hint.has_image_source


def test_plain_text_and_a_reply_quoting_a_link_have_no_image_source():
    assert not read_intent(
        message_of(capture("pyTelegramBotAPI__update_text.json"))
    ).has_image_source
    assert not read_intent(message_of(capture("silikidi__TEXT-REPLY.json"))).has_image_source
    # The link is in the quoted message, not in the user's own text.
    assert not read_intent(
        message_of(capture("pyTelegramBotAPI__update_text_with_url_entity.json"))
    ).has_image_source


def test_entity_offsets_count_utf16_units():
    text = "🐱🐶 look: https://example.com/cat.jpg"
    assert entity_text(text, 11, 27) == "https://example.com/cat.jpg"


def test_bare_links_schemeless_entities_and_duplicates():
    assert urls_in("see https://example.com/a.png, and https://example.com/a.png.", None) == (
        "https://example.com/a.png",
    )

    class Entity:
        type, offset, length, url = "url", 0, 17, None

    assert urls_in("example.com/a.png", [Entity]) == ("http://example.com/a.png",)


def test_command_names():
    assert command_name("/start") == "start"
    assert command_name("/HELP@petclf_bot please") == "help"
    assert command_name("/") is None
    assert command_name("hello /start") is None
