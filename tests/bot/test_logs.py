import logging

import pytest

from bot.logs import MASK, QUIET_LOGGERS, Redactor, configure
from tests.bot.conftest import TOKEN


@pytest.fixture
def restore_logging():
    """configure() rewires the root logger of the process; put pytest's back afterwards."""
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        {name: logging.getLogger(name).level for name in QUIET_LOGGERS},
    )
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_token_is_scrubbed_from_messages_arguments_and_tracebacks(capsys, restore_logging):
    configure("bot", secrets=[TOKEN])
    url = f"http://127.0.0.1:8081/bot{TOKEN}/getUpdates"
    logging.getLogger("urllib3.connectionpool").warning("GET %s", url)
    logging.getLogger("petclf.bot").error("failed: %s", url.replace(":", "%3A"))
    try:
        raise RuntimeError(f"Max retries exceeded with url: /bot{TOKEN}/getMe")
    except RuntimeError:
        logging.getLogger("petclf.bot").exception("boom")
    # quietened
    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTP connection %s", url)
    err = capsys.readouterr().err
    secret = TOKEN.split(":")[1]
    assert secret not in err and err.count(MASK) == 3
    assert "Starting new HTTP connection" not in err


def test_redactor_ignores_empty_secrets():
    assert Redactor([None, ""])("nothing to hide") == "nothing to hide"
