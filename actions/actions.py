"""Rasa custom actions: thin adapters from the tracker to the engine (``bot/engine.py``).

Each action reads the message and slots, calls one function of ``bot/`` with the engine it
was given and sends the reply as ``bot.render`` lays it out for the message's channel: on the
web the text with buttons plus the payload as a custom (json) message that widgets render
from; on Telegram, Slack, Teams and Mattermost that channel's markup. No search or formatting
logic lives here. ``run`` is async and does the work in a thread, so one slow search never
holds up the server's event loop. The server (``actions/__main__.py``) makes the engine in
each worker and registers these actions with it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import answers, dialogue, index as index_mod, lang as lang_mod, redact, render
from bot.conversation import Context
from bot.engine import Engine
from bot.query import EmptyQuery
from bot.reply import Reply

log = logging.getLogger(__name__)


def context(tracker: Tracker) -> Context:
    """Conversation state from the slots; the language of the latest message wins."""
    text = tracker.latest_message.get("text") or ""
    ctx = Context.from_slots(tracker.get_slot)
    ctx.lang = lang_mod.reply_lang(text, ctx.lang) if text and not text.startswith("/") else (ctx.lang or "en")
    return ctx


def remember(before: Context, reply: Reply, text: str) -> list[EventType]:
    """Slots for the state the reply leaves (``bot/dialogue.py``'s ``after``): what was asked,
    the topic, what was shown, where "more" continues, the filter, the script."""
    after = dialogue.after(before, reply, text)
    events: list[EventType] = [SlotSet(name, value) for name, value in after.to_slots().items()]
    topics = reply.data.get("topics")
    if topics:
        events.append(SlotSet("topic", topics[0]))
    return events


def history(tracker: Tracker, turns: int = 2) -> list[str]:
    """The user's earlier messages (newest last), for requests split over several messages."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    earlier = texts[:-1] if texts else []
    return [t for t in earlier if t and not t.startswith("/")][-turns:]


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def _while_rebuilding(respond: Callable[..., list[EventType]]) -> Callable[..., list[EventType]]:
    """``respond`` that first makes sure of the index: while it is being rebuilt the user is
    told so at once (``Engine.rebuilding_reply``) instead of waiting for the build."""

    @functools.wraps(respond)
    def respond_or_rebuilding(self: "EngineAction", dispatcher: CollectingDispatcher,
                              tracker: Tracker) -> list[EventType]:
        try:
            self.engine.require_index()
        except index_mod.Rebuilding as exc:
            ctx = context(tracker)
            self.send(dispatcher, tracker, self.engine.rebuilding_reply(ctx.lang or "en", exc))
            return [SlotSet("lang", ctx.lang)]
        return respond(self, dispatcher, tracker)

    return respond_or_rebuilding


class EngineAction(Action):
    """An action answering with ``engine``; subclasses implement ``respond`` (run in a thread;
    while the index is being rebuilt it is not called and the user is told so)."""

    action_name = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "respond" in cls.__dict__:
            cls.respond = _while_rebuilding(cls.__dict__["respond"])  # type: ignore[method-assign]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def name(self) -> str:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        redact.remember(tracker.latest_message.get("text"), tracker.sender_id)   # out of every log line
        ctx = contextvars.copy_context()   # the thread that answers keeps this message's redaction
        return await asyncio.get_running_loop().run_in_executor(None, ctx.run, self.respond, dispatcher, tracker)

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        raise NotImplementedError

    def send(self, dispatcher: CollectingDispatcher, tracker: Tracker, reply: Reply) -> None:
        """The reply as the message's channel needs it (``bot.render``): on the web, text +
        buttons and the payload as a custom message; on a messenger, its own markup and buttons.
        A reader who writes traditional characters gets the assistant's sentences in them."""
        text = tracker.latest_message.get("text") or ""
        reply = dialogue.reply_in_script(reply, dialogue.script_of(text, tracker.get_slot("script") or ""))
        for message in render.messages(reply, tracker.get_latest_input_channel(), self.engine.settings.public_web_url):
            dispatcher.utter_message(**message)

    def guarded(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Guard, then search: the one path for every message that could reach the documents."""
        ctx = context(tracker)
        text = tracker.latest_message.get("text") or ""
        intent = tracker.latest_message.get("intent") or {}
        doc = entity(tracker, "document") or ctx.doc
        try:
            reply = self.engine.handle(text, ctx, history=history(tracker), doc=doc, intent=intent.get("name"),
                                       confidence=float(intent.get("confidence") or 0.0))
        except EmptyQuery:
            reply = answers.unclear(self.engine, ctx.lang or "en")
        self.send(dispatcher, tracker, reply)
        return remember(ctx, reply, text)

    def show_again(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   build: Callable[[Engine, Context], Reply]) -> list[EventType]:
        """Show what was shown last in another form (in full, in the original); it stays "shown"."""
        ctx = context(tracker)
        reply = build(self.engine, ctx)
        self.send(dispatcher, tracker, reply)
        return [SlotSet("lang", ctx.lang), SlotSet("last_kind", reply.kind)]


class SearchDocuments(EngineAction):
    """A question: search the documents (also the fallback for low NLU confidence)."""

    action_name = "action_search_documents"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        return self.guarded(dispatcher, tracker)


class MoreResults(EngineAction):
    action_name = "action_more_results"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        reply = answers.more(self.engine, ctx)
        self.send(dispatcher, tracker, reply)
        return remember(ctx, reply, "")


class ShowSource(EngineAction):
    action_name = "action_show_source"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        return self.show_again(dispatcher, tracker, answers.source)


class ShowOriginal(EngineAction):
    action_name = "action_show_original"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        return self.show_again(dispatcher, tracker, answers.original)


class ShowParagraph(EngineAction):
    action_name = "action_show_paragraph"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        reply = answers.paragraph(self.engine, tracker.latest_message.get("text") or "", ctx.lang or "en",
                                  doc=entity(tracker, "document"), number=entity(tracker, "paragraph"), ctx=ctx)
        self.send(dispatcher, tracker, reply)
        return remember(ctx, reply, tracker.latest_message.get("text") or "")


class FilterDocument(EngineAction):
    action_name = "action_filter_document"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        text = tracker.latest_message.get("text") or ""
        reply, doc_id = answers.filter_reply(self.engine, text, entity(tracker, "document"), ctx)
        self.send(dispatcher, tracker, reply)
        # the filter holds for later questions (and was applied to the previous one right away)
        return remember(ctx, reply, text) + [SlotSet("doc_filter", doc_id)]


class ListDocuments(EngineAction):
    action_name = "action_list_documents"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        self.send(dispatcher, tracker, answers.documents(self.engine, ctx.lang or "en"))
        return [SlotSet("lang", ctx.lang)]


class ListTopics(EngineAction):
    action_name = "action_list_topics"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        self.send(dispatcher, tracker, answers.topics(self.engine, ctx.lang or "en"))
        return [SlotSet("lang", ctx.lang)]


class Feedback(EngineAction):
    """👍/👎: the rating stays in the tracker (slot ``rating`` and this action's event)."""

    action_name = "action_feedback"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        ctx = context(tracker)
        rating = answers.rating(tracker.latest_message.get("text") or "", entity(tracker, "rating"))
        if rating is None:  # no rating in the message: treat it as a question
            return self.guarded(dispatcher, tracker)
        self.send(dispatcher, tracker, answers.feedback_thanks(self.engine, ctx.lang or "en", rating, ctx))
        return [SlotSet("rating", rating), SlotSet("lang", ctx.lang)]


class Refuse(EngineAction):
    """NLU said request_harmful: the guard decides with its rules and classifier too (a policy
    question that only sounds harmful is answered)."""

    action_name = "action_refuse"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        return self.guarded(dispatcher, tracker)


class Support(EngineAction):
    """NLU said seek_help: the guard confirms (and picks the kind of help) before referring."""

    action_name = "action_support"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        return self.guarded(dispatcher, tracker)


ACTIONS: tuple[type[EngineAction], ...] = (SearchDocuments, MoreResults, ShowSource, ShowOriginal, ShowParagraph,
                                          FilterDocument, ListDocuments, ListTopics, Feedback, Refuse, Support)
