"""No message text or sender id reaches a log line, whichever logger, handler or path writes it."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import warnings
from typing import Iterator

import pytest

from bot import redact

TEXT = "My name is Jane Roe, phone 555-0100"
SENDER = "conversation-of-jane-42"


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as a handler added *after* install sees it."""
    redact.install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    ctx = contextvars.copy_context()   # remember() in a context of the test's own
    yield out, ctx  # type: ignore[misc]
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_ways_rasa_writes_a_message_are_all_scrubbed(captured) -> None:  # noqa: ANN001
    out, ctx = captured

    def work() -> None:
        redact.remember(TEXT, SENDER)
        log = logging.getLogger("rasa.core.processor")
        log.debug("Received user message '%s' from %s", TEXT, SENDER)
        log.warning(f"Failed to parse arguments in line '/{TEXT}'")
        logging.getLogger("rasa.core.channels.rest").error(json.dumps({"text": TEXT, "sender": SENDER}))
        try:
            raise ValueError(f"cannot handle {TEXT!r}")
        except ValueError:
            logging.getLogger("sanic.error").exception("handler failed for %s", SENDER)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"Failed to parse arguments in line '/{TEXT}'", UserWarning, stacklevel=1)

    ctx.run(work)
    logged = out.getvalue()
    assert "Jane" not in logged and "555-0100" not in logged and SENDER not in logged
    assert "[message]" in logged and f"[sender {redact.who(SENDER)}]" in logged
    assert "ValueError" in logged and "Traceback" in logged   # the failure itself is still there
    assert "UserWarning" in logged   # warnings go through logging, not straight to stderr


def test_escaped_and_non_ascii_forms_are_scrubbed(captured) -> None:  # noqa: ANN001
    out, ctx = captured
    text = "我叫李四 \ud800 电话 555-0100"

    def work() -> None:
        redact.remember(text, SENDER)
        log = logging.getLogger("rasa.core.channels.rest")
        log.error(json.dumps({"text": text}))                       # \uXXXX escapes
        log.error("parsed %s", redact.clean_text(text))             # the text as cleaned for Rasa
        log.error("repr %r", text)                                  # Python's repr

    ctx.run(work)
    logged = out.getvalue()
    assert "555-0100" not in logged and "李四" not in logged and "\\u674e" not in logged
    assert logged.count("[message]") == 3


def test_short_messages_are_scrubbed_where_quoted_without_mangling_words(captured) -> None:  # noqa: ANN001
    out, ctx = captured

    def work() -> None:
        redact.remember("hi", "ab")
        logging.getLogger("x").info("this happened for message 'hi' while thinking")

    ctx.run(work)
    assert "this happened for message '[message]' while thinking" in out.getvalue()


def test_each_conversation_scrubs_only_its_own_and_lines_without_a_message_are_untouched(captured) -> None:  # noqa: ANN001
    out, _ = captured

    async def turn(text: str, sender: str) -> None:
        redact.remember(text, sender)
        await asyncio.sleep(0.01)
        logging.getLogger("turn").info("handled %s for %s", text, sender)

    async def both() -> None:
        await asyncio.gather(turn("first private words", "alice-1"), turn("second private words", "bob-2"))

    contextvars.copy_context().run(asyncio.run, both())
    logging.getLogger("startup").info("loaded 5 documents")   # no message remembered here
    logged = out.getvalue()
    assert "private words" not in logged and "alice-1" not in logged and "bob-2" not in logged
    assert logged.count("[message]") == 2 and "loaded 5 documents" in logged


def test_lone_surrogates_become_replacement_characters() -> None:
    cleaned = redact.clean_text("Jane \ud800 Roe \udfff")
    assert cleaned == "Jane \ufffd Roe \ufffd"
    cleaned.encode("utf-8")   # encodable now
    assert redact.clean_text("正常 text 🙂") == "正常 text 🙂"
