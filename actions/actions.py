"""Rasa custom actions: thin adapters from the tracker to ``bot.answers`` and ``bot.safety``.

Each action reads the message and slots, calls one function of ``bot/`` and sends its
payload as ``bot.render`` lays it out for the message's channel: on the web the text with
buttons plus the payload itself as a custom (json) message that widgets render from; on
Telegram, Slack, Teams and Mattermost that channel's markup. No search or formatting logic
lives here.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import answers, render, safety, search

log = logging.getLogger(__name__)


def _warm_up() -> None:
    """Load the index and models in the worker so the first question is fast."""
    try:
        answers.answer("warm-up: 3D printing")
        log.info("search index and models loaded")
    except Exception:  # the first real question reports any problem to the user
        log.exception("warm-up failed")


# Models must load inside the Sanic worker, not the main process (spawn start method).
if multiprocessing.current_process().name != "MainProcess":
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()


def context(tracker: Tracker) -> answers.Context:
    """Conversation state from the slots; the language of the latest message wins."""
    text = tracker.latest_message.get("text") or ""
    previous = tracker.get_slot("lang")
    lang = answers.reply_lang(text, previous) if text and not text.startswith("/") else (previous or "en")
    return answers.Context(
        lang=lang,
        last_query=tracker.get_slot("last_query"),
        offset=int(tracker.get_slot("offset") or 0),
        doc=tracker.get_slot("doc_filter"),
        shown=list(tracker.get_slot("shown") or []),
    )


def send(dispatcher: CollectingDispatcher, tracker: Tracker, payload: dict[str, Any]) -> None:
    """The reply as the message's channel needs it (``bot.render``): on the web, text + buttons
    and the payload as a custom message; on a messenger, its own markup and buttons."""
    for message in render.messages(payload, tracker.get_latest_input_channel()):
        dispatcher.utter_message(**message)


def remember(payload: dict[str, Any], lang: str) -> list[EventType]:
    """Slots to keep for follow-ups: what was asked and shown, and where "more" continues."""
    events: list[EventType] = [SlotSet("lang", lang), SlotSet("last_kind", payload["kind"])]
    if payload.get("topics"):
        events.append(SlotSet("topic", payload["topics"][0]))
    if payload["kind"] == "answer" and payload.get("query"):
        events += [SlotSet("last_query", payload["query"]),
                   SlotSet("offset", float(payload.get("next_offset") or 0)),
                   SlotSet("shown", [p["id"] for p in payload["passages"]])]
    elif payload["kind"] == "answer":
        events.append(SlotSet("shown", [p["id"] for p in payload["passages"]]))
    return events


def history(tracker: Tracker, turns: int = 2) -> list[str]:
    """The user's earlier messages (newest last), for requests split over several messages."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    earlier = texts[:-1] if texts else []
    return [t for t in earlier if t and not t.startswith("/")][-turns:]


def guarded(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Guard, then search: the one path for every message that could reach the documents."""
    ctx = context(tracker)
    text = tracker.latest_message.get("text") or ""
    intent = tracker.latest_message.get("intent") or {}
    doc = entity(tracker, "document") or ctx.doc
    try:
        payload = safety.handle(text, ctx, history=history(tracker), doc=doc, intent=intent.get("name"),
                                confidence=float(intent.get("confidence") or 0.0))
    except search.EmptyQuery:
        payload = answers.unclear(ctx.lang or "en")
    send(dispatcher, tracker, payload)
    return remember(payload, payload["lang"])


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


class SearchDocuments(Action):
    """A question: search the documents (also the fallback for low NLU confidence)."""

    def name(self) -> str:
        return "action_search_documents"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return guarded(dispatcher, tracker)


class MoreResults(Action):
    def name(self) -> str:
        return "action_more_results"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        payload = answers.more(ctx)
        send(dispatcher, tracker, payload)
        return remember(payload, ctx.lang or "en")


def show_again(dispatcher: CollectingDispatcher, tracker: Tracker,
               build: Callable[[answers.Context], dict[str, Any]]) -> list[EventType]:
    """Show what was shown last in another form (in full, in the original); it stays "shown"."""
    ctx = context(tracker)
    payload = build(ctx)
    send(dispatcher, tracker, payload)
    return [SlotSet("lang", ctx.lang), SlotSet("last_kind", payload["kind"])]


class ShowSource(Action):
    def name(self) -> str:
        return "action_show_source"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return show_again(dispatcher, tracker, answers.source)


class ShowOriginal(Action):
    def name(self) -> str:
        return "action_show_original"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return show_again(dispatcher, tracker, answers.original)


class ShowParagraph(Action):
    def name(self) -> str:
        return "action_show_paragraph"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        payload = answers.paragraph(tracker.latest_message.get("text") or "", ctx.lang or "en",
                                    doc=entity(tracker, "document"), number=entity(tracker, "paragraph"), ctx=ctx)
        send(dispatcher, tracker, payload)
        return remember(payload, ctx.lang or "en")


class FilterDocument(Action):
    def name(self) -> str:
        return "action_filter_document"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        text = tracker.latest_message.get("text") or ""
        payload, doc_id = answers.filter_reply(text, entity(tracker, "document"), ctx)
        send(dispatcher, tracker, payload)
        events = remember(payload, payload["lang"])
        if payload["kind"] == "info":
            events.append(SlotSet("doc_filter", doc_id))
        else:  # the filter was applied to the previous question right away
            events.append(SlotSet("doc_filter", doc_id))
        return events


class ListDocuments(Action):
    def name(self) -> str:
        return "action_list_documents"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        send(dispatcher, tracker, answers.documents(ctx.lang or "en"))
        return [SlotSet("lang", ctx.lang)]


class ListTopics(Action):
    def name(self) -> str:
        return "action_list_topics"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        send(dispatcher, tracker, answers.topics(ctx.lang or "en"))
        return [SlotSet("lang", ctx.lang)]


class Feedback(Action):
    """👍/👎: the rating stays in the tracker (slot ``rating`` and this action's event)."""

    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ctx = context(tracker)
        rating = answers.rating(tracker.latest_message.get("text") or "", entity(tracker, "rating"))
        if rating is None:  # no rating in the message: treat it as a question
            return SearchDocuments().run(dispatcher, tracker, domain)
        payload = answers.feedback_thanks(ctx.lang or "en", rating, ctx)
        send(dispatcher, tracker, payload)
        return [SlotSet("rating", rating), SlotSet("lang", ctx.lang)]


class Refuse(Action):
    """NLU said request_harmful: the guard decides with its rules and classifier too (a policy
    question that only sounds harmful is answered)."""

    def name(self) -> str:
        return "action_refuse"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return guarded(dispatcher, tracker)


class Support(Action):
    """NLU said seek_help: the guard confirms (and picks the kind of help) before referring."""

    def name(self) -> str:
        return "action_support"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return guarded(dispatcher, tracker)
