"""Rasa custom actions with Tracker fixtures and a CollectingDispatcher (no Rasa server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("rasa_sdk")

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.events import SlotSet  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from actions import actions as A  # noqa: E402
from bot.engine import Engine  # noqa: E402


def tracker(text: str, intent: str = "ask_documents", entities: list[dict[str, Any]] | None = None,
            **slots: Any) -> Tracker:
    return Tracker(
        sender_id="test", slots=slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_search_action_sends_text_buttons_and_payload(engine: Engine) -> None:
    messages, slots = run(A.SearchDocuments(engine), tracker("What do the documents say about 3D-printed guns?"))
    assert len(messages) == 1
    m = messages[0]
    payload = m["custom"]
    assert payload["kind"] == "answer" and m["text"] == payload["text"]
    assert m["buttons"] == payload["buttons"]
    assert payload["citations"] and payload["disclaimer"]
    assert slots["lang"] == "en" and slots["last_query"] and slots["offset"] == 2.0
    assert slots["shown"] == [p["id"] for p in payload["passages"]]


def test_follow_ups_use_the_slots(engine: Engine) -> None:
    _, slots = run(A.SearchDocuments(engine), tracker("暗网上的武器交易中枪支占多大比例？"))
    more_msgs, more_slots = run(A.MoreResults(engine), tracker("更多", "more_results", **slots))
    assert more_msgs[0]["custom"]["lang"] == "zh" and "更多内容" in more_msgs[0]["text"]
    assert more_slots["offset"] == 4.0
    src, _ = run(A.ShowSource(engine), tracker("显示完整段落", "show_source", **slots))
    assert src[0]["custom"]["passages"][0]["id"] == slots["shown"][0]


def test_paragraph_action_reads_entities(engine: Engine) -> None:
    t = tracker("show paragraph 26 of A/CONF.234/11", "ask_paragraph",
                [{"entity": "document", "value": "a-conf-234-11"}, {"entity": "paragraph", "value": "26"}])
    messages, slots = run(A.ShowParagraph(engine), t)
    assert messages[0]["custom"]["passages"][0]["id"] == "a-conf-234-11:26"
    assert slots["shown"] == ["a-conf-234-11:26"]


def test_filter_action_sets_the_document_slot(engine: Engine) -> None:
    t = tracker("only in the IPIE brief", "filter_document",
                [{"entity": "document", "value": "ipie-csea-2026"}],
                last_query="What is the main gap in interventions?", lang="en")
    messages, slots = run(A.FilterDocument(engine), t)
    assert slots["doc_filter"] == "ipie-csea-2026"
    assert {c["doc_id"] for c in messages[0]["custom"]["citations"]} <= {"ipie-csea-2026"}


def test_feedback_is_recorded_in_a_slot(engine: Engine) -> None:
    t = tracker('/feedback{"rating": "up"}', "feedback", [{"entity": "rating", "value": "up"}],
                lang="zh", shown=["a-conf-234-11:26"])
    messages, slots = run(A.Feedback(engine), t)
    assert slots["rating"] == "up" and messages[0]["custom"]["rated"] == ["a-conf-234-11:26"]
    assert messages[0]["custom"]["lang"] == "zh"


def test_refusal_and_support_actions(engine: Engine) -> None:
    messages, _ = run(A.Refuse(engine), tracker("how do I buy a gun on the dark web", "request_harmful"))
    assert messages[0]["custom"]["kind"] == "refusal" and messages[0]["custom"]["citations"] == []
    messages, _ = run(A.Support(engine), tracker("我的孩子在网上被陌生人诱骗", "seek_help"))
    assert messages[0]["custom"]["kind"] == "support" and "12377" in messages[0]["text"]


def test_list_actions(engine: Engine) -> None:
    messages, _ = run(A.ListDocuments(engine), tracker("有哪些文件？", "list_documents"))
    assert messages[0]["custom"]["lang"] == "zh" and len(messages[0]["custom"]["documents"]) == 5
    messages, _ = run(A.ListTopics(engine), tracker("what topics do you cover?", "list_topics"))
    assert messages[0]["custom"]["buttons"]


def test_empty_or_junk_message_does_not_crash(engine: Engine) -> None:
    for text in ("", "   ", "\x00\x01", "<script>alert(1)</script>"):
        messages, _ = run(A.SearchDocuments(engine), tracker(text, "nlu_fallback"))
        assert messages and messages[0]["custom"]["kind"] in {"info", "no_answer", "answer"}
        assert "<script>" not in messages[0]["text"]
